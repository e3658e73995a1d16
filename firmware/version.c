/* The firmware's version (version.h). */
#include "firmware/version.h"

#ifndef DARTDUP_VERSION
#define DARTDUP_VERSION "0.0.0"
#endif

const char dd_firmware_version[] = DARTDUP_VERSION;
