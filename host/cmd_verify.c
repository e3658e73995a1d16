/* dartdup verify IMAGE TARGET...: read-only re-verification of sticks already written. */
#include "host/cli.h"
#include "host/write_job.h"

int cmd_verify(int argc, char **argv)
{
	return write_job_main(argc, argv, true);
}
