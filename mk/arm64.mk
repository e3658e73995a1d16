# Cross build for arm64 boards (issue 7): Debian's aarch64-linux-gnu-gcc and the arm64 -dev packages
# installed side by side through multiarch (scripts/deps/arm64.txt; install-deps adds the architecture).
#   make firmware-arm64   build/arm64/bin/dartdupd (or, while firmware/main.c does not exist, the libraries)
#   make arm64-tests      the unit tests of common/ + firmware/ + boards/, cross-built; tests/arm64/suite
#                         runs them under qemu-aarch64-static (part of `make tests` / `make test`)
# Objects go under build/arm64/ with the host build's layout; nothing here touches the host build.
ARM_BUILD := $(BUILD)/arm64
ARM_CC    ?= aarch64-linux-gnu-gcc
ARM_TRIPLET := aarch64-linux-gnu
# pkg-config must see only the arm64 .pc files (and the arch-independent ones), never the host's.
ARM_PKG_CONFIG := PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=/usr/lib/$(ARM_TRIPLET)/pkgconfig:/usr/share/pkgconfig \
                  $(PKG_CONFIG)
ARM_HAVE := $(shell command -v $(ARM_CC) >/dev/null 2>&1 && $(ARM_PKG_CONFIG) --exists $(CORE_PKGS) 2>/dev/null \
              && echo yes)

ifeq ($(ARM_HAVE),yes)
ARM_PKG_CFLAGS := $(shell $(ARM_PKG_CONFIG) --cflags $(CORE_PKGS))
# mbedTLS 2.28 has no .pc file: the cross linker finds it in /usr/lib/aarch64-linux-gnu by name.
ARM_LIBS := $(shell $(ARM_PKG_CONFIG) --libs $(CORE_PKGS)) \
            $(shell $(ARM_PKG_CONFIG) --libs mbedcrypto 2>/dev/null || echo -lmbedcrypto) -lpthread -lm
ARM_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
              -DDARTDUP_VERSION='"$(VERSION)"' -I. -Icommon -I$(BUILD)/gen $(ARM_PKG_CFLAGS) -MMD -MP

# Unit tests that need no host/ code (the PC side links libusb and the ISO libraries, not wanted on a board).
ARM_TEST_SRC := $(sort $(shell grep -L '"host/' $(TEST_SRC) /dev/null 2>/dev/null | grep -v '^/dev/null$$'))
ARM_TESTS    := $(patsubst tests/unit/%.c,$(ARM_BUILD)/tests/%,$(ARM_TEST_SRC))
ARM_LIB_CORE := $(ARM_BUILD)/lib/libdartdup.a
ARM_LIB_FW   := $(ARM_BUILD)/lib/libdartdup-fw.a
ARM_DAEMON   := $(if $(wildcard firmware/main.c),$(ARM_BUILD)/bin/dartdupd)

$(ARM_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(ARM_CC) $(ARM_CFLAGS) -c $< -o $@

$(ARM_LIB_CORE): $(call obj,$(ARM_BUILD),$(COMMON_SRC)) ; $(archive)
$(ARM_LIB_FW):   $(call obj,$(ARM_BUILD),$(FW_SRC)) ; $(archive)

# The generated board registry is shared with the host build; mk/board.mk declares that this
# flavour's firmware/boards.o depends on it (mk/ files are read in name order: arm64 before board).

$(ARM_BUILD)/bin/dartdupd: $(ARM_BUILD)/obj/firmware/main.o $(ARM_LIB_FW) $(ARM_LIB_CORE)
	@mkdir -p $(dir $@)
	$(ARM_CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(ARM_LIBS)

$(ARM_BUILD)/tests/%: $(ARM_BUILD)/obj/tests/unit/%.o $(call obj,$(ARM_BUILD),$(TEST_SUPPORT)) \
		$(ARM_LIB_FW) $(ARM_LIB_CORE)
	@mkdir -p $(dir $@)
	$(ARM_CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(ARM_LIBS)

# The PC tool for arm64 (`make dartdup-arm64`): the emulated board of tests/board-image/suite runs it in
# the guest to load an image over the gadget (a real arm64 PC would too). Its packages are on-demand
# (scripts/deps/board-image.txt). libusb, libarchive and json-c come as arm64 -dev packages; wimlib's pkg-config
# file names private dependencies that have no arm64 -dev here, so its header is the host's (the same on
# both LP64 little-endian architectures) and the arm64 shared library is named by file; libntfs-3g
# (build --format winre) the same way.
ARM_HOST_PKGS := $(HOST_PKGS)
ARM_ISO_SO    := /usr/lib/$(ARM_TRIPLET)/libwim.so.15 /usr/lib/$(ARM_TRIPLET)/libntfs-3g.so.89
ARM_HOST_HAVE := $(shell $(ARM_PKG_CONFIG) --exists $(ARM_HOST_PKGS) 2>/dev/null && \
                   ls $(ARM_ISO_SO) >/dev/null 2>&1 && echo yes)
ARM_HOST_OBJ  := $(call obj,$(ARM_BUILD),host/main.c $(HOST_SRC))
$(ARM_HOST_OBJ): ARM_CFLAGS += $(shell $(ARM_PKG_CONFIG) --cflags $(ARM_HOST_PKGS) 2>/dev/null) $(ISO_CFLAGS)

$(ARM_BUILD)/bin/dartdup: $(ARM_HOST_OBJ) $(ARM_LIB_CORE)
	@mkdir -p $(dir $@)
	$(ARM_CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(shell $(ARM_PKG_CONFIG) --libs $(ARM_HOST_PKGS)) $(ARM_ISO_SO) \
		$(ARM_LIBS)

.PHONY: firmware-arm64 arm64-tests dartdup-arm64
ifeq ($(ARM_HOST_HAVE),yes)
dartdup-arm64: $(ARM_BUILD)/bin/dartdup
else ifeq ($(ARM_HOST_RETRY),)
# the packages are looked for when make reads this file: install them, then a new make finds them
dartdup-arm64:
	@scripts/install-deps board-image
	@$(MAKE) --no-print-directory ARM_HOST_RETRY=1 dartdup-arm64
else
dartdup-arm64:
	@echo "dartdup-arm64: needs the arm64 -dev packages of scripts/deps/board-image.txt (scripts/install-deps board-image)" >&2
	@exit 2
endif
firmware-arm64: $(ARM_LIB_CORE) $(ARM_LIB_FW) $(ARM_DAEMON)
arm64-tests: firmware-arm64 $(ARM_TESTS)
tests: arm64-tests
else
# No cross compiler or arm64 libraries: tests/arm64/suite reports it (run `make deps`).
.PHONY: firmware-arm64 arm64-tests dartdup-arm64
firmware-arm64 arm64-tests dartdup-arm64:
	@echo "firmware-arm64: needs $(ARM_CC) and the arm64 -dev packages of scripts/deps/arm64.txt (make deps)" >&2
	@exit 2
endif
