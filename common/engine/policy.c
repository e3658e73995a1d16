/* The job's policy and its per-block decisions (see policy.h). */
#include "engine/policy.h"

#include <string.h>

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
