/* The dartdup CLI: one function per command, each in host/cmd_<name>.c.
 * A command returns a process exit status: 0 ok, 1 a check failed, 2 bad usage or bad input. */
#ifndef DARTDUP_HOST_CLI_H
#define DARTDUP_HOST_CLI_H

typedef int (*dd_cmd_fn)(int argc, char **argv);

#define DD_COMMAND(name) int cmd_##name(int argc, char **argv)
DD_COMMAND(pack);
DD_COMMAND(inspect);
DD_COMMAND(keygen);
DD_COMMAND(list);
DD_COMMAND(write);
DD_COMMAND(verify);
DD_COMMAND(verify_release);
DD_COMMAND(build);
DD_COMMAND(station);
DD_COMMAND(ports);
DD_COMMAND(board);
DD_COMMAND(report);
DD_COMMAND(audit);
DD_COMMAND(revoke);
DD_COMMAND(identify);
DD_COMMAND(master);
#undef DD_COMMAND

/* "dartdup: " + message on stderr, one line: the message escaped as util/escape.h says (names in it are
 * untrusted). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
