/* systemd's service notification protocol (sd_notify(3)), spoken directly: one datagram per message
 * ("READY=1", "WATCHDOG=1", "STOPPING=1") to the Unix socket named by $NOTIFY_SOCKET (a path, or
 * "@name" for the abstract namespace). No libsystemd: the protocol is these few lines, and a board
 * without systemd simply has no $NOTIFY_SOCKET.
 *
 * The watchdog ($WATCHDOG_USEC, for this process only when $WATCHDOG_PID is unset or ours): the
 * daemon's main loop pings every half period, so a loop that hangs stops pinging and systemd restarts
 * the service (WatchdogSec= in boards/linux-gadget/dartdupd.service). */
#ifndef DARTDUP_FIRMWARE_NOTIFY_H
#define DARTDUP_FIRMWARE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/err.h"

struct dd_notify {
	int fd;                      /* -1: nobody to notify */
	struct sockaddr_un addr;
	socklen_t addr_len;
	uint64_t period_ms;          /* ping every this many ms (half of $WATCHDOG_USEC), 0: no watchdog */
	uint64_t next_ms;            /* monotonic ms of the next ping */
};

/* From the environment's values (each may be NULL). A bad $NOTIFY_SOCKET or $WATCHDOG_USEC is refused
 * with the reason (n is then inert: fd -1, no watchdog); the daemon says so and serves anyway. */
int dd_notify_open(struct dd_notify *n, const char *socket, const char *watchdog_usec, const char *watchdog_pid,
		   struct dd_err *err);
void dd_notify_close(struct dd_notify *n);

/* Send one message ("READY=1"); without a socket it does nothing. Never blocks. */
int dd_notify_send(struct dd_notify *n, const char *msg, struct dd_err *err);

/* The loop's turn at monotonic time now_ms: pings the watchdog if a ping is due. Returns the ms until
 * the next one is due (the most the loop may wait), or -1 without a watchdog. */
int dd_notify_tick(struct dd_notify *n, uint64_t now_ms);

uint64_t dd_notify_now_ms(void);

#endif
