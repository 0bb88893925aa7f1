# bench/local.mk - this folder's part of the one Makefile (see Makefile.am).
