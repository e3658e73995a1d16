/* dartdup write IMAGE TARGET... | --all: write and verify one image onto many sticks at once. */
#include "host/cli.h"
#include "host/write_job.h"

int cmd_write(int argc, char **argv)
{
	return write_job_main(argc, argv, false);
}
