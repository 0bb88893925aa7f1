# server/process.mk - pulsemqd's process side: main, config, log, daemon.
