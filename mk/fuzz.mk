# Fuzzing (tests/fuzz/, docs/SECURITY.md): libFuzzer targets, one per parser of untrusted input.
# The main build uses cc (gcc); libFuzzer needs clang, so the sources a target needs are compiled
# again here with clang, -fsanitize=fuzzer-no-link,address,undefined, into $(BUILD)/fuzz/.
#   make fuzz-build                 the targets and their seed corpora (also part of `make tests`)
#   make fuzz FUZZ_SECONDS=60       run each target that long (corpus grows in $(BUILD)/fuzz/corpus/)
#   make fuzz FUZZ=dfi              one target (or several, space separated)
# A crash input is saved as $(BUILD)/fuzz/crashes/<target>/crash-*; once fixed, copy it into
# tests/fuzz/regress/<target>/ and tests/fuzz/suite replays it on every `make test`.
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 30
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(filter-out -O2 -O3,$(ALL_CFLAGS)) -O1 -g -Wno-unused-command-line-argument \
                -Wno-format-nonliteral -DDARTDUP_FUZZING -Itests/fuzz \
                $(if $(wildcard firmware/daemon.h),-DDD_FUZZ_HAVE_BOARD)
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ         ?= $(FUZZ_ALL)
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/bin/fuzz_%,$(FUZZ_ALL))

# Which objects each target links: the core library, plus the ISO reader for fuzz_iso, plus the
# firmware for the board side once it exists (archives: only what is referenced gets linked).
FUZZ_ISO_SRC := $(sort $(wildcard host/iso/*.c))
FUZZ_FW_SRC  := $(FW_SRC)
FUZZ_LIB_CORE := $(FUZZ_DIR)/lib/libcore.a
FUZZ_LIB_ISO  := $(FUZZ_DIR)/lib/libiso.a
FUZZ_LIB_FW   := $(FUZZ_DIR)/lib/libfw.a

.PHONY: fuzz fuzz-build fuzz-seeds
tests: fuzz-build

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB_CORE): $(call obj,$(FUZZ_DIR),$(COMMON_SRC)) ; $(archive)
$(FUZZ_LIB_ISO):  $(call obj,$(FUZZ_DIR),$(FUZZ_ISO_SRC)) ; $(archive)
$(FUZZ_LIB_FW):   $(call obj,$(FUZZ_DIR),$(FUZZ_FW_SRC)) ; $(archive)

$(FUZZ_DIR)/bin/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_FW) $(FUZZ_LIB_ISO) $(FUZZ_LIB_CORE)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(ALL_LIBS)

# Seeds come from the real producers (dartdup pack and keygen, the link encoder, xorriso and
# genisoimage), made at build time: no binary is committed but small regression inputs.
$(FUZZ_DIR)/bin/gen_link_seeds: tests/fuzz/gen_link_seeds.c $(LIB_CORE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CORE_LIBS)

$(FUZZ_DIR)/seeds.stamp: tests/fuzz/make-seeds $(BUILD)/bin/dartdup $(FUZZ_DIR)/bin/gen_link_seeds
	@BUILD=$(BUILD) tests/fuzz/make-seeds $(FUZZ_DIR)
	@touch $@

fuzz-seeds: $(FUZZ_DIR)/seeds.stamp
fuzz-build: $(FUZZ_BINS) $(FUZZ_DIR)/seeds.stamp

fuzz: deps
	@$(MAKE) --no-print-directory -j$(JOBS) fuzz-build
	@for t in $(FUZZ); do \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes/$$t; \
		$(FUZZ_DIR)/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$t/ $$(cat tests/fuzz/options/$$t 2>/dev/null) \
			$(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$t >$(FUZZ_DIR)/$$t.log 2>&1; \
		rc=$$?; \
		grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|SUMMARY|Test unit written)' $(FUZZ_DIR)/$$t.log; \
		if [ $$rc -ne 0 ]; then \
			echo "fuzz: $$t FAILED (log $(FUZZ_DIR)/$$t.log, input in $(FUZZ_DIR)/crashes/$$t/)"; exit 1; \
		fi; \
	done
