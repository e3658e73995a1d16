/* The shared body of `dartdup write` and `dartdup verify` (host/write_job.c). */
#ifndef DARTDUP_HOST_WRITE_JOB_H
#define DARTDUP_HOST_WRITE_JOB_H

#include <stdbool.h>

int write_job_main(int argc, char **argv, bool verify_only);

#endif
