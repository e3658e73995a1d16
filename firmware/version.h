/* The firmware's version, in one place: --version, the start-up line, HELLO, INFO and the board's audit
 * records report it. An object in its own file rather than a literal at each use: what a running board
 * reports is what is in its program file. */
#ifndef DARTDUP_FIRMWARE_VERSION_H
#define DARTDUP_FIRMWARE_VERSION_H

extern const char dd_firmware_version[];

#endif
