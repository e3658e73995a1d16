# The ISO reader (host/iso/): the FAT upcase table that decides which names FAT and Windows take for
# one, generated at build time from towupper() in C.UTF-8 (scripts/iso-upcase-gen.c, docs/BUILD.md).
ISO_UPCASE_INC := $(BUILD)/gen/iso_upcase.inc
ISO_UPCASE_OBJ := $(BUILD)/obj/host/iso/tree.o $(BUILD)/asan/obj/host/iso/tree.o

$(BUILD)/gen/iso-upcase-gen: scripts/iso-upcase-gen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $<

$(ISO_UPCASE_INC): $(BUILD)/gen/iso-upcase-gen
	$< > $@.tmp
	@mv $@.tmp $@

$(ISO_UPCASE_OBJ) $(BUILD)/fuzz/obj/host/iso/tree.o: $(ISO_UPCASE_INC)
$(ISO_UPCASE_OBJ): ALL_CFLAGS += -I$(BUILD)/gen
$(BUILD)/fuzz/obj/host/iso/tree.o: FUZZ_CFLAGS += -I$(BUILD)/gen
