# `make deb`: a Debian package of everything `make install` puts (PREFIX=/usr), built with Debian's own
# tools (dpkg-shlibdeps for Depends, dpkg-deb to build; scripts/make-deb; docs/PACKAGING.md):
#   $(BUILD)/dartdup_$(VERSION)_ARCH.deb
DEB_STAGE := $(BUILD)/deb

.PHONY: deb
deb: all
	rm -rf $(DEB_STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_STAGE))/debian/dartdup PREFIX=/usr
	scripts/make-deb $(DEB_STAGE) $(VERSION) $(BUILD)
