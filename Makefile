# dartdup: build, test, demo, bench, install.
#
# Sources are found by folder, so a new module or a new board needs no edit here:
#   common/**.c   -> build/lib/libdartdup.a   (the shared core; no terminal, no USB gadget code)
#   host/**.c     -> build/bin/dartdup        (host/main.c holds main(); the rest goes to libdartdup-host.a)
#   firmware/*.c, boards/*/*.c -> build/bin/dartdupd (firmware/main.c holds main())
#   tests/unit/test_*.c -> build/tests/test_* and, with ASan+UBSan, build/asan/tests/test_*
# Extra targets of a module live in mk/*.mk.

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
# Where `make install` puts things, all under $(DESTDIR) (mk/install.mk; docs/PACKAGING.md).
BINDIR          ?= $(PREFIX)/bin
LIBEXECDIR      ?= $(PREFIX)/lib/dartdup
DATADIR         ?= $(PREFIX)/share/dartdup
MANDIR          ?= $(PREFIX)/share/man
DOCDIR          ?= $(PREFIX)/share/doc/dartdup
BASHCOMPDIR     ?= $(PREFIX)/share/bash-completion/completions
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
UDEV_RULESDIR   ?= $(PREFIX)/lib/udev/rules.d
SYSCONFDIR      ?= /etc
CC      ?= cc
PKG_CONFIG ?= pkg-config

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# Libraries, all from Debian 12 packages and found with pkg-config.
# mbedTLS 2.28 in Debian 12 ships no .pc file (3.x does): fall back to the plain library name.
CORE_PKGS := libzstd libudev
HOST_PKGS := libusb-1.0 libarchive json-c
ISO_PKGS  := wimlib libntfs-3g
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS) $(HOST_PKGS) 2>/dev/null)
CORE_LIBS  := $(shell $(PKG_CONFIG) --libs $(CORE_PKGS) 2>/dev/null) \
              $(shell $(PKG_CONFIG) --libs mbedcrypto 2>/dev/null || echo -lmbedcrypto) -lpthread -lm
HOST_LIBS  := $(shell $(PKG_CONFIG) --libs $(HOST_PKGS) 2>/dev/null)
ISO_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(ISO_PKGS) 2>/dev/null)
ISO_LIBS   := $(shell $(PKG_CONFIG) --libs $(ISO_PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
              -DDARTDUP_VERSION='"$(VERSION)"' -I. -Icommon $(PKG_CFLAGS) $(ISO_CFLAGS) -MMD -MP
LDFLAGS ?=
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

COMMON_SRC := $(sort $(shell find common -name '*.c'))
HOST_SRC   := $(sort $(filter-out host/main.c,$(shell find host -name '*.c')))
FW_SRC     := $(sort $(filter-out firmware/main.c,$(wildcard firmware/*.c boards/*/*.c)))
TEST_SRC   := $(sort $(wildcard tests/unit/test_*.c))
# Support code of the unit tests (tests/unit/*.c but test_*.c): linked into every test. What of it needs host/
# code (screen_check.c: host/fit.c) goes to the PC's tests only, not to the arm64 ones (mk/arm64.mk).
TEST_SUPPORT_ALL  := $(sort $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c)))
TEST_SUPPORT_HOST := $(sort $(shell grep -l '"host/' $(TEST_SUPPORT_ALL) /dev/null 2>/dev/null))
TEST_SUPPORT      := $(filter-out $(TEST_SUPPORT_HOST),$(TEST_SUPPORT_ALL))

obj = $(patsubst %.c,$(1)/obj/%.o,$(2))

LIB_CORE := $(BUILD)/lib/libdartdup.a
LIB_HOST := $(BUILD)/lib/libdartdup-host.a
LIB_FW   := $(BUILD)/lib/libdartdup-fw.a
BINS     := $(BUILD)/bin/dartdup $(if $(wildcard firmware/main.c),$(BUILD)/bin/dartdupd)
TESTS      := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
ASAN_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/%,$(TEST_SRC))
# The system journal (dartdup --log-to journal, host/fleet/out.c): libsystemd (scripts/deps/fleet.txt).
# Kept out of HOST_PKGS so a build without it (the arm64 PC tool, mk/arm64.mk) still links: that dartdup
# says --log-to journal is not built in; --log-to syslog needs nothing.
JOURNAL_HAVE := $(shell $(PKG_CONFIG) --exists libsystemd 2>/dev/null && echo yes)
ifeq ($(JOURNAL_HAVE),yes)
ALL_CFLAGS += -DDD_HAVE_LIBSYSTEMD $(shell $(PKG_CONFIG) --cflags libsystemd)
HOST_LIBS  += $(shell $(PKG_CONFIG) --libs libsystemd)
endif
ALL_LIBS := $(ISO_LIBS) $(HOST_LIBS) $(CORE_LIBS)

# Keep objects of test programs (they would otherwise count as intermediate files).
.SECONDARY:

.PHONY: all deps test test-unit demo bench install uninstall clean tests
all: $(BINS)

deps:
	@scripts/install-deps

# --- objects: one rule per build flavour ------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

define archive
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
endef

$(LIB_CORE): $(call obj,$(BUILD),$(COMMON_SRC)) ; $(archive)
$(LIB_HOST): $(call obj,$(BUILD),$(HOST_SRC)) ; $(archive)
$(LIB_FW):   $(call obj,$(BUILD),$(FW_SRC)) ; $(archive)
$(BUILD)/asan/lib/libdartdup.a: $(call obj,$(BUILD)/asan,$(COMMON_SRC)) ; $(archive)
$(BUILD)/asan/lib/libdartdup-host.a: $(call obj,$(BUILD)/asan,$(HOST_SRC)) ; $(archive)
$(BUILD)/asan/lib/libdartdup-fw.a: $(call obj,$(BUILD)/asan,$(FW_SRC)) ; $(archive)

# Host objects are linked directly, not from an archive: commands are weak symbols in cli.h, and a
# weak reference never pulls a member out of an archive.
$(BUILD)/bin/dartdup: $(BUILD)/obj/host/main.o $(call obj,$(BUILD),$(HOST_SRC)) $(LIB_CORE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/bin/dartdupd: $(BUILD)/obj/firmware/main.o $(LIB_FW) $(LIB_CORE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# Unit tests link everything but the two main()s, so any module can be tested.
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(call obj,$(BUILD),$(TEST_SUPPORT) $(TEST_SUPPORT_HOST)) $(LIB_HOST) $(LIB_FW) $(LIB_CORE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/asan/tests/%: $(BUILD)/asan/obj/tests/unit/%.o $(call obj,$(BUILD)/asan,$(TEST_SUPPORT) $(TEST_SUPPORT_HOST)) \
		$(BUILD)/asan/lib/libdartdup-host.a $(BUILD)/asan/lib/libdartdup-fw.a $(BUILD)/asan/lib/libdartdup.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

# Programs the VM scenarios run in the guest (tests/vm/tools/: a PC that misbehaves, ...).
VM_TOOLS := $(patsubst tests/vm/tools/%.c,$(BUILD)/vmtools/%,$(sort $(wildcard tests/vm/tools/*.c)))
$(BUILD)/vmtools/%: $(BUILD)/obj/tests/vm/tools/%.o $(LIB_HOST) $(LIB_FW) $(LIB_CORE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

tests: $(BINS) $(TESTS) $(ASAN_TESTS) $(VM_TOOLS)

# --- the two set-up commands ------------------------------------------------------------------
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) tests
	@tests/run

test-unit: tests
	@tests/run unit

demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@scripts/demo

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@scripts/bench

# The programs; the rest of `make install` (man pages, docs, completion, units, udev rule) is in mk/install.mk
# and mk/linux-gadget.mk.
install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dartdup $(DESTDIR)$(BINDIR)/dartdupd

clean:
	rm -rf $(BUILD)

-include mk/*.mk
# dependency files of the objects only: build/board/ holds a whole arm64 tree (with files named *.d)
-include $(shell find $(BUILD) -path $(BUILD)/board -prune -o -type f -path '*/obj/*' -name '*.d' -print 2>/dev/null)
