# dist/local.mk - packaging: systemd unit, debian/, rpm spec, man pages, logrotate.
