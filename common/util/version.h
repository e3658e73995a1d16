/* Versions of images and firmware bundles (docs/FORMAT.md "Versions"): dotted decimal numbers,
 * "3", "1.2", "0.2.10". Compared number by number, a missing number counting as 0 ("1.2" == "1.2.0");
 * no version at all (an older package, "") is lower than every version. */
#ifndef DARTDUP_UTIL_VERSION_H
#define DARTDUP_UTIL_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#define DD_VERSION_MAX 31    /* bytes of version text, at most */
#define DD_VERSION_PARTS 8   /* numbers in a version, at most */

/* True when s[0..n) is a version: 1..DD_VERSION_PARTS decimal numbers of 1..9 digits, without
 * leading zeros ("0" itself is fine), separated by single dots; at most DD_VERSION_MAX bytes. */
bool dd_version_ok(const char *s, size_t n);

/* <0, 0, >0 as a is lower than, equal to, higher than b. "" (or text that is not a version) is "none",
 * lower than every version and equal to another "none". */
int dd_version_cmp(const char *a, const char *b);

/* A firmware bundle's version: the last word of its name ("dartdupd-firmware sim 0.2.0" -> "0.2.0");
 * "" when the name has no last word. Points into name. */
const char *dd_version_of_bundle(const char *name);

/* "none" for "", else v (what messages show). */
static inline const char *dd_version_show(const char *v)
{
	return v && *v ? v : "none";
}

#endif
