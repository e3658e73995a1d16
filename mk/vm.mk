# The QEMU rig (tests/vm/, docs/TESTING.md): Debian's kernel with its real USB stack and emulated sticks.
#   make test-vm                 every scenario (also part of `make test` through tests/run)
#   make test-vm VM=udev_sticks  one scenario (or several, space separated)
.PHONY: test-vm
test-vm: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/vm/suite $(VM)
