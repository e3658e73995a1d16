# Sanitized binaries for the CLI suites (tests/sanitize/suite, docs/SECURITY.md): dartdup and
# dartdupd linked from the ASan+UBSan objects the unit tests already build ($(BUILD)/asan/obj),
# so this flavour costs two links, not a second build. Leaks are checked by LeakSanitizer at every
# exit of every command the CLI suites run; tests/leaks/suite runs the engine under valgrind.
ASAN_BINS := $(BUILD)/asan/bin/dartdup $(if $(wildcard firmware/main.c),$(BUILD)/asan/bin/dartdupd)

.PHONY: asan-bins
asan-bins: $(ASAN_BINS)
tests: asan-bins

$(BUILD)/asan/bin/dartdup: $(BUILD)/asan/obj/host/main.o $(call obj,$(BUILD)/asan,$(HOST_SRC)) \
		$(BUILD)/asan/lib/libdartdup.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/asan/bin/dartdupd: $(BUILD)/asan/obj/firmware/main.o $(BUILD)/asan/lib/libdartdup-fw.a \
		$(BUILD)/asan/lib/libdartdup.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)
