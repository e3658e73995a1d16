# The arm64 GPIO rig (tests/gpio/, docs/TESTING.md): the linux-gadget board's GPIO button and lights on the
# PL061 of QEMU's arm64 virt machine, Debian's arm64 kernel.
#   make test-gpio               the suite alone (also part of `make test` through tests/run)
.PHONY: test-gpio
test-gpio: deps
	@$(MAKE) --no-print-directory all firmware-arm64
	@BUILD=$(BUILD) tests/gpio/suite
