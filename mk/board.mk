# The duplicator board (issue 6): board registry generated from the folders under boards/.
# Each boards/<name>/ defines `const struct dd_board_driver dd_board_<name>` ('-' -> '_').
BOARD_NAMES := $(sort $(patsubst boards/%/,%,$(wildcard boards/*/)))
BOARDS_INC  := $(BUILD)/gen/boards.inc

$(BOARDS_INC): dd-board-registry-always
	@mkdir -p $(dir $@)
	@printf '$(foreach b,$(BOARD_NAMES),DD_BOARD($(subst -,_,$(b)))\n)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/obj/firmware/boards.o $(BUILD)/asan/obj/firmware/boards.o: $(BOARDS_INC)
$(BUILD)/obj/firmware/boards.o $(BUILD)/asan/obj/firmware/boards.o: ALL_CFLAGS += -I$(BUILD)/gen

.PHONY: dd-board-registry-always
dd-board-registry-always:

# the other flavours that compile firmware/boards.o (mk/fuzz.mk; mk/arm64.mk has its own -I)
$(BUILD)/fuzz/obj/firmware/boards.o $(BUILD)/arm64/obj/firmware/boards.o: $(BOARDS_INC)
$(BUILD)/fuzz/obj/firmware/boards.o: FUZZ_CFLAGS += -I$(BUILD)/gen
