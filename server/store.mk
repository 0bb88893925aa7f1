# server/store.mk - the store's processors and their tests, linked into pulsemqd.
