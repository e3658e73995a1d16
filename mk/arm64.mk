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

.PHONY: firmware-arm64 arm64-tests
firmware-arm64: $(ARM_LIB_CORE) $(ARM_LIB_FW) $(ARM_DAEMON)
arm64-tests: firmware-arm64 $(ARM_TESTS)
tests: arm64-tests
else
# No cross compiler or arm64 libraries: tests/arm64/suite reports it (run `make deps`).
.PHONY: firmware-arm64 arm64-tests
firmware-arm64 arm64-tests:
	@echo "firmware-arm64: needs $(ARM_CC) and the arm64 -dev packages of scripts/deps/arm64.txt (make deps)" >&2
	@exit 2
endif
