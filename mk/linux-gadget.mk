# The linux-gadget board (issue 7, docs/BOARD.md): `make install` also puts its files in place.
#   $(PREFIX)/lib/dartdup/gadget-setup           configfs gadget set-up (ExecStartPre of the unit)
#   $(PREFIX)/share/dartdup/linux-gadget/board.conf   the example description
#   /etc/dartdup/board.conf                      the example, only when there is none yet
#   $(SYSTEMD_UNITDIR)/dartdupd.service          the systemd unit (paths filled in)
#   $(UDEV_RULESDIR)/70-dartdup.rules            PC side: `dartdup board` without root (TAG+="uaccess")
LG_DIR          := boards/linux-gadget
LIBEXECDIR      ?= $(PREFIX)/lib/dartdup
SYSCONFDIR      ?= /etc
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
UDEV_RULESDIR   ?= $(PREFIX)/lib/udev/rules.d

.PHONY: install-linux-gadget uninstall-linux-gadget
install: install-linux-gadget
uninstall: uninstall-linux-gadget

install-linux-gadget:
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(PREFIX)/share/dartdup/linux-gadget \
		$(DESTDIR)$(SYSCONFDIR)/dartdup $(DESTDIR)$(SYSTEMD_UNITDIR) $(DESTDIR)$(UDEV_RULESDIR)
	install -m 0755 $(LG_DIR)/gadget-setup $(DESTDIR)$(LIBEXECDIR)/gadget-setup
	install -m 0644 $(LG_DIR)/board.conf $(DESTDIR)$(PREFIX)/share/dartdup/linux-gadget/board.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/dartdup/board.conf ] || \
		install -m 0644 $(LG_DIR)/board.conf $(DESTDIR)$(SYSCONFDIR)/dartdup/board.conf
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' $(LG_DIR)/dartdupd.service \
		>$(DESTDIR)$(SYSTEMD_UNITDIR)/dartdupd.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/dartdupd.service
	install -m 0644 host/70-dartdup.rules $(DESTDIR)$(UDEV_RULESDIR)/70-dartdup.rules

uninstall-linux-gadget:
	rm -f $(DESTDIR)$(LIBEXECDIR)/gadget-setup $(DESTDIR)$(SYSTEMD_UNITDIR)/dartdupd.service \
		$(DESTDIR)$(UDEV_RULESDIR)/70-dartdup.rules
	rm -rf $(DESTDIR)$(PREFIX)/share/dartdup/linux-gadget
