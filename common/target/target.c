#include "target/target.h"

void dd_target_close(struct dd_target *t)
{
	if (t && t->ops && t->ops->close)
		t->ops->close(t);
}
