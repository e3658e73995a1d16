# The conventions of a Debian tool (issue 19 item 5, docs/PACKAGING.md): `make install` also puts in place
#   $(MANDIR)/man1/dartdup.1, man8/dartdupd.8       docs/man
#   $(DOCDIR)/                                     README.md and docs/*.md
#   $(BASHCOMPDIR)/dartdup, dartdupd (a link)      scripts/completion/dartdup
#   $(SYSTEMD_UNITDIR)/dartdup-station.service     the station's example unit, paths filled in, not enabled
#   $(UDEV_RULESDIR)/70-dartdup.rules              PC side: `dartdup board` without root (TAG+="uaccess")
# Everything under $(DESTDIR); `make uninstall` removes exactly these.
DOC_FILES := README.md $(sort $(wildcard docs/*.md))
STATION_UNIT := host/station/dartdup-station.service

.PHONY: install-extras uninstall-extras
install: install-extras
uninstall: uninstall-extras

install-extras:
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMD_UNITDIR) $(DESTDIR)$(UDEV_RULESDIR)
	install -m 0644 docs/man/dartdup.1 $(DESTDIR)$(MANDIR)/man1/dartdup.1
	install -m 0644 docs/man/dartdupd.8 $(DESTDIR)$(MANDIR)/man8/dartdupd.8
	install -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	install -m 0644 scripts/completion/dartdup $(DESTDIR)$(BASHCOMPDIR)/dartdup
	ln -sf dartdup $(DESTDIR)$(BASHCOMPDIR)/dartdupd
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/share/doc/dartdup/|$(DOCDIR)/|g' $(STATION_UNIT) \
		>$(DESTDIR)$(SYSTEMD_UNITDIR)/dartdup-station.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/dartdup-station.service
	install -m 0644 host/70-dartdup.rules $(DESTDIR)$(UDEV_RULESDIR)/70-dartdup.rules

uninstall-extras:
	rm -f $(DESTDIR)$(MANDIR)/man1/dartdup.1 $(DESTDIR)$(MANDIR)/man8/dartdupd.8 \
		$(DESTDIR)$(BASHCOMPDIR)/dartdup $(DESTDIR)$(BASHCOMPDIR)/dartdupd \
		$(DESTDIR)$(SYSTEMD_UNITDIR)/dartdup-station.service $(DESTDIR)$(UDEV_RULESDIR)/70-dartdup.rules
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null
