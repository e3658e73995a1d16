/* The station's private header: what its parts share (host/station/).
 *
 *   cmd.c    the command: options, the main loop (udev, signals, wake-ups), the session's end
 *   watch.c  the udev watcher: a disk that appears on a watched port becomes a job; one that leaves
 *            is marked pulled; finished jobs are reaped and a stick that waited for its slot started
 *   job.c    one stick: door, "already holds the image?", engine job, audit record, eject
 *   view.c   what the station shows, formatted (view.h: pure, tested alone): the screen, result
 *            lines, --json events
 *   screen.c where it goes: the terminal, plain log lines, stdout's JSON lines (all output but
 *            the command's usage and one-line errors)
 *   core.c   the pure bookkeeping of core.h: slots, counters, decisions
 *
 * Threads: the main thread owns udev, the signals and the screen; every stick's job runs in its own
 * thread and reports through its slot under ctx->lock, waking the main thread through an eventfd. */
#ifndef DARTDUP_HOST_STATION_H
#define DARTDUP_HOST_STATION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include <libudev.h>

#include "host/fleet/out.h"
#include "host/station/core.h"
#include "engine/policy.h"
#include "source/source.h"

struct options {
	const char *image;
	const char **ports;
	unsigned n_ports;
	const char *log;
	const char *port_map;   /* --port-map FILE (NULL: /etc/dartdup/ports.conf if present) */
	const char **pubkeys;
	unsigned n_pubkeys;
	const char **known;     /* --known: earlier packages, to recognise what a stick held ("upgraded") */
	unsigned n_known;
	bool json, rewrite, existing, allow_non_usb, no_eject, unmount;
	struct dd_policy policy;  /* --probe, --sanitize (engine/policy.h: the words write and the board share) */
	const char *metrics;        /* --metrics FILE (docs/FLEET.md) */
	enum fleet_log_to log_to;   /* --log-to syslog|journal */
};

struct ctx;

struct job {
	struct ctx *ctx;
	struct station_slot *slot;
	char devnode[64];
	char syspath[256];
	atomic_int abort;
	char upgraded_from[32]; /* the stick held this older version of the image's name (--known); "" */
	bool done;              /* under ctx->lock */
	pthread_t thread;
	struct job *next;
};

struct ctx {
	struct options o;
	struct dd_source *src;
	struct dd_source **known; /* o.known, opened */
	struct station st;
	pthread_mutex_t lock;   /* st, jobs' done flags, stdout */
	struct timespec t0;
	int wake_fd;            /* eventfd: a job ended */
	bool tty;
	struct job *jobs;
	struct udev *udev;
	/* a stick plugged into a slot whose previous job is still winding down: started when it ends */
	char pending[STATION_MAX_SLOTS][256];  /* syspaths, by slot index */
	bool stopping;
	struct fleet_out fleet;     /* --metrics, --log-to: every stick's record (host/fleet/out.h) */
	/* the port map and the --ports / map entries no port of this machine matches (reported at start) */
	struct dd_portmap map;
	char map_file[256];
	char missing[STATION_MAX_SLOTS][DD_PORT_NAME_MAX + DD_PORT_PATH_MAX];
	unsigned n_missing;
	char warning[512];
	/* the terminal */
	bool colour;
	unsigned cols, rows;    /* the size the screen was last drawn at */
};

/* Seconds since the session started (cmd.c). */
double station_elapsed(const struct ctx *c);

/* screen.c: output, with ctx->lock held (or before any job runs). Nothing else in the station prints but
 * the command's usage and its one-line errors (cli_error). */
void station_emit_slot(struct ctx *c, const char *event, const struct station_slot *slot);
void station_emit_start(struct ctx *c);
void station_log(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void station_screen_begin(struct ctx *c);
void station_redraw(struct ctx *c);
void station_print_totals(struct ctx *c);

/* job.c: one stick's thread (arg: its struct job); marks the job done and wakes the main loop. */
void *station_job_main(void *arg);

/* watch.c: the udev watcher, called from the main thread. */
struct udev_monitor *station_open_monitor(struct udev *udev);
void station_udev_event(struct ctx *c, struct udev_monitor *mon);
void station_adopt_existing(struct ctx *c, struct udev *udev);
unsigned station_reap_jobs(struct ctx *c);   /* joins the jobs that ended; returns how many still run */
void station_stop_all(struct ctx *c);

#endif
