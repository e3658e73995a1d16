# The linux-gadget board (issue 7, docs/BOARD.md): `make install` also puts its files in place.
#   $(LIBEXECDIR)/gadget-setup                   configfs gadget set-up (ExecStartPre of the unit)
#   $(DATADIR)/linux-gadget/board.conf           the example description
#   $(SYSTEMD_UNITDIR)/dartdupd.service          the systemd unit (paths filled in)
#   $(SYSCONFDIR)/dartdup/board.conf             the example, only when there is none yet, and only under a
#                                                DESTDIR or by `make install-config` (never a live /etc unasked)
# The directory variables are set in the Makefile.
LG_DIR := boards/linux-gadget

.PHONY: install-linux-gadget uninstall-linux-gadget install-config uninstall-config
install: install-linux-gadget $(if $(DESTDIR),install-config)
uninstall: uninstall-linux-gadget $(if $(DESTDIR),uninstall-config)

install-linux-gadget:
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR)/linux-gadget $(DESTDIR)$(SYSTEMD_UNITDIR)
	install -m 0755 $(LG_DIR)/gadget-setup $(DESTDIR)$(LIBEXECDIR)/gadget-setup
	install -m 0644 $(LG_DIR)/board.conf $(DESTDIR)$(DATADIR)/linux-gadget/board.conf
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' $(LG_DIR)/dartdupd.service \
		>$(DESTDIR)$(SYSTEMD_UNITDIR)/dartdupd.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/dartdupd.service

# An administrator's board.conf is never replaced, and never removed once edited.
install-config:
	install -d $(DESTDIR)$(SYSCONFDIR)/dartdup
	[ -e $(DESTDIR)$(SYSCONFDIR)/dartdup/board.conf ] || \
		install -m 0644 $(LG_DIR)/board.conf $(DESTDIR)$(SYSCONFDIR)/dartdup/board.conf

uninstall-config:
	! cmp -s $(LG_DIR)/board.conf $(DESTDIR)$(SYSCONFDIR)/dartdup/board.conf || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/dartdup/board.conf
	-rmdir $(DESTDIR)$(SYSCONFDIR)/dartdup 2>/dev/null

uninstall-linux-gadget:
	rm -f $(DESTDIR)$(LIBEXECDIR)/gadget-setup $(DESTDIR)$(SYSTEMD_UNITDIR)/dartdupd.service
	rm -rf $(DESTDIR)$(DATADIR)/linux-gadget
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR) 2>/dev/null
