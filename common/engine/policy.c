/* The job's policy and its per-block decisions (see policy.h). */
#include "engine/policy.h"

#include <string.h>

#include "util/number.h"

#define MAX_RETRIES 100

void dd_policy_default(struct dd_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->verify = true;
	p->retries = 2;
}

enum dd_block_write dd_policy_write(const struct dd_policy *p, const struct dd_image_info *info, uint64_t i)
{
	if (i == 0)
		return DD_WRITE_LAST;
	if (!p->full && dd_block_is_zero(info, i))
		return DD_WRITE_ZERO_IF_DIRTY;
	return DD_WRITE_DATA;
}

enum dd_block_check dd_policy_check(const struct dd_policy *p, const struct dd_image_info *info, uint64_t i)
{
	return dd_block_is_zero(info, i) ? DD_CHECK_ZEROS : DD_CHECK_HASH;
}

static bool *flag_of(struct dd_policy *p, const char *key)
{
	if (!strcmp(key, "probe"))
		return &p->probe;
	if (!strcmp(key, "sanitize"))
		return &p->sanitize;
	if (!strcmp(key, "full"))
		return &p->full;
	return NULL;
}

bool dd_policy_is_key(const char *key)
{
	struct dd_policy p;

	return flag_of(&p, key) || !strcmp(key, "retries");
}

int dd_policy_set(struct dd_policy *p, const char *key, const char *value, struct dd_err *err)
{
	bool *flag = flag_of(p, key);
	uint64_t n;

	if (flag) {
		if (!value || !strcmp(value, "yes"))
			*flag = true;
		else if (!strcmp(value, "no"))
			*flag = false;
		else
			return dd_fail(err, DD_EUSAGE, "%s %s: expected yes or no", key, value);
		return DD_OK;
	}
	if (strcmp(key, "retries"))
		return dd_fail(err, DD_EUSAGE, "%s: not a policy key (probe, sanitize, full, retries)", key);
	if (!value || dd_parse_u64(value, MAX_RETRIES, &n))
		return dd_fail(err, DD_EUSAGE, "%s %s: expected a number from 0 to %d", key, value ? value : "(none)",
			       MAX_RETRIES);
	p->retries = (int)n;
	return DD_OK;
}

void dd_policy_merge(struct dd_policy *p, const struct dd_policy *more)
{
	p->probe = p->probe || more->probe;
	p->sanitize = p->sanitize || more->sanitize;
	p->full = p->full || more->full;
	if (more->retries > p->retries)
		p->retries = more->retries;
}
