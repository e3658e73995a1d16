# The SD-card image of the linux-gadget board (issue 14, docs/BOARD.md "The SD-card image"): Debian 12
# arm64 (mmdebstrap, foreign maintainer scripts under qemu-user through binfmt_misc), the cross-built
# dartdupd, partitions made in plain files. Needs root (mmdebstrap --mode=root; binfmt_misc set-up) and
# the on-demand package list scripts/deps/board-image.txt (not part of `make deps`).
#   make board-image        build/board/dartdup-board-arm64.img and .dfi (signed: BOARD_KEY=depot.key, or a
#                           test key made under build/board/); the mmdebstrap tree is cached in build/board/cache/
#   make test-board-image   tests/board-image/suite: static checks of the built image (not part of `make test`)
.PHONY: board-image test-board-image board-image-deps
board-image-deps:
	@scripts/install-deps board-image

board-image: board-image-deps
	@$(MAKE) --no-print-directory -j$(JOBS) all firmware-arm64
	@BUILD=$(BUILD) DARTDUPD=$(BUILD)/arm64/bin/dartdupd DARTDUP=$(BUILD)/bin/dartdup \
		boards/linux-gadget/image/build

test-board-image: board-image-deps
	@BUILD=$(BUILD) tests/board-image/suite
