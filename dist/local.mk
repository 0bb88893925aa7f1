# dist/local.mk - packaging: systemd unit, debian/, rpm spec, man pages,
# logrotate, the default config file, and the CI packaging check.

# ---- systemd unit ------------------------------------------------------
# Generated so ExecStart follows --sbindir/--sysconfdir. The default
# directory stays under $(prefix) so `make distcheck` can install it;
# packages pass the real one: make install systemdsystemunitdir=/lib/systemd/system
systemdsystemunitdir = $(prefix)/lib/systemd/system
systemdsystemunit_DATA = dist/pulsemqd.service
CLEANFILES += dist/pulsemqd.service

dist/pulsemqd.service: $(srcdir)/dist/pulsemqd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) dist && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    $(srcdir)/dist/pulsemqd.service.in > $@.tmp && mv $@.tmp $@

# ---- default configuration and pulsemq.conf(5) ----------------------------
# Both come from the config table through `pulsemqd --dump-config-table`
# (formatted by dist/config-doc.awk), so they cannot drift from
# `pulsemqd -h`. They are built in the build tree, not distributed: `make
# distcheck` builds pulsemqd first and regenerates them.
pulsemqconfdir = $(sysconfdir)/pulsemq
nodist_pulsemqconf_DATA = dist/pulsemqd.conf
nodist_man5_MANS = dist/pulsemq.conf.5
CLEANFILES += dist/config-table.tsv dist/pulsemqd.conf dist/pulsemq.conf.5

# The date of the release, not of the build (reproducible packages).
PMQ_MAN_DATE = 2026-11-22
# Replaces a template's @SETTINGS@ line with the file named by $@.settings.
PMQ_FILL = sed -e '/^@SETTINGS@$$/{' -e "r $@.settings" -e 'd' -e '}' \
	-e 's|@VERSION[@]|$(VERSION)|g' -e 's|@DATE[@]|$(PMQ_MAN_DATE)|g'

dist/config-table.tsv: pulsemqd$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) dist && \
	./pulsemqd$(EXEEXT) --dump-config-table > $@.tmp && mv $@.tmp $@

dist/pulsemqd.conf: $(srcdir)/dist/pulsemqd.conf.in $(srcdir)/dist/config-doc.awk dist/config-table.tsv
	$(AM_V_GEN)$(AWK) -v mode=conf -f $(srcdir)/dist/config-doc.awk dist/config-table.tsv > $@.settings && \
	$(PMQ_FILL) $(srcdir)/dist/pulsemqd.conf.in > $@.tmp && rm -f $@.settings && mv $@.tmp $@

dist/pulsemq.conf.5: $(srcdir)/dist/pulsemq.conf.5.in $(srcdir)/dist/config-doc.awk dist/config-table.tsv
	$(AM_V_GEN)$(AWK) -v mode=man -f $(srcdir)/dist/config-doc.awk dist/config-table.tsv > $@.settings && \
	$(PMQ_FILL) $(srcdir)/dist/pulsemq.conf.5.in > $@.tmp && rm -f $@.settings && mv $@.tmp $@

# The generated conffile lists every key with its default and is accepted
# by the daemon with every key uncommented.
TESTS += dist/test-conffile.sh

# ---- man pages -----------------------------------------------------------
dist_man_MANS += dist/pulsemqd.8

# ---- what the tarball carries for packagers -----------------------------
EXTRA_DIST += \
	dist/pulsemqd.service.in \
	dist/pulsemq.logrotate \
	dist/ci-package.sh \
	dist/test-conffile.sh \
	dist/config-doc.awk \
	dist/pulsemqd.conf.in \
	dist/pulsemq.conf.5.in \
	pulsemq.spec.in \
	pulsemq.spec \
	debian/changelog \
	debian/control \
	debian/copyright \
	debian/rules \
	debian/source/format \
	debian/pulsemq.install \
	debian/pulsemq.docs \
	debian/pulsemq.postinst \
	debian/pulsemq.postrm \
	debian/libpulsemq0.install \
	debian/libpulsemq-dev.install
