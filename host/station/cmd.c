/* dartdup station IMAGE: a PC with hubs becomes a duplicator.
 *
 * The main thread owns the udev monitor, the signals (signalfd: no handler, no global) and the screen;
 * every stick gets its own thread running its own engine job (one source shared read-only by all:
 * read_block is thread-safe), so each stick goes at its own pace. A job thread reports through its slot
 * under ctx->lock and wakes the main thread through an eventfd when it ends.
 *
 * The stick's job: job.c; the udev watcher: watch.c; all output: screen.c over view.c (station.h). */
#include "host/station/station.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "host/cli.h"
#include "host/fit.h"
#include "host/ports.h"
#include "host/image.h"
#include "safety/door.h"

double station_elapsed(const struct ctx *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - c->t0.tv_sec) + (now.tv_nsec - c->t0.tv_nsec) / 1e9;
}

static int open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGWINCH); /* the terminal's size changed: wakes the loop, the next frame re-lays out */
	/* blocked before any thread starts, so every job thread inherits the mask */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Reads the pending signals; true if one of them asks to stop (SIGWINCH only wakes the loop). */
static bool stop_signal(int fd)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		stop |= si.ssi_signo != SIGWINCH;
	return stop;
}

static void drain(int fd)
{
	uint8_t buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void loop(struct ctx *c, struct udev_monitor *mon, int sig_fd)
{
	struct pollfd pfd[3] = {
		{ .fd = udev_monitor_get_fd(mon), .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
		{ .fd = c->wake_fd, .events = POLLIN },
	};
	unsigned running = 1;

	while (!c->stopping || running) {
		int n = poll(pfd, 3, c->tty && !c->o.json ? 250 : 1000);

		if (n < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			station_udev_event(c, mon);
		if ((pfd[1].revents & POLLIN) && stop_signal(sig_fd))
			station_stop_all(c);
		if (pfd[2].revents & POLLIN)
			drain(c->wake_fd);
		running = station_reap_jobs(c);
		pthread_mutex_lock(&c->lock);
		station_redraw(c);
		pthread_mutex_unlock(&c->lock);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup station IMAGE [--ports PATH...] [--port-map FILE] [--log FILE] [--json] [--probe]\n"
		"                       [--sanitize] [--rewrite] [--existing] [--pubkey PUB] [--known OLD.dfi]...\n"
		"                       [--no-eject] [--unmount] [--allow-non-usb] [--metrics FILE]\n"
		"                       [--log-to syslog|journal]\n"
		"Writes and verifies IMAGE onto every eligible USB stick plugged in, each at its own pace, until\n"
		"Ctrl-C; then prints the session's totals. A stick that passed is flushed and ejected: pull it.\n"
		"IMAGE by content, as for write: .dfi, raw, compressed (decoded once at start), DaRT ISO (built).\n"
		"  --ports PATH...  only these ports (udev ID_PATH or /dev/disk/by-path/ name; a prefix covers a\n"
		"                   hub on that socket). Default: every USB port (or the port map's sockets).\n"
		"  --port-map FILE  the sockets' names (docs/PORTS.md; default " HOST_PORTMAP_DEFAULT " if present):\n"
		"                   only those sockets are slots, shown by name\n"
		"  --log FILE       append one JSON audit record per stick\n"
		"  --json           one JSON event per line (stick, phase, progress, result, removed, summary)\n"
		"  --probe          counterfeit-capacity probe before writing; a fake stick fails\n"
		"  --sanitize       before writing, zeros over each stick past the image, to its end, read back\n"
		"                   (a returned stick keeps none of its old files); always writes, as --rewrite\n"
		"  --rewrite        write even sticks that already hold this image (default: verify and keep)\n"
		"  --existing       also write sticks already plugged in at start (default: only new ones)\n"
		"  --pubkey PUB     the image must be signed by this key\n"
		"  --known OLD.dfi  an earlier package (repeat): a stick found holding an older version of the\n"
		"                   image's name is reported \"upgraded\" once rewritten (docs/BOARD.md)\n"
		"  --no-eject       leave passed sticks attached\n"
		"  --unmount        unmount a stick's mounted partitions before writing it (a desktop that\n"
		"                   mounts sticks on arrival); never /, /boot or swap; as write --unmount\n"
		"  --allow-non-usb  do not require a USB ancestor (test rigs only)\n"
		"  --metrics FILE   keep a node_exporter textfile (*.prom) up to date (docs/FLEET.md)\n"
		"  --log-to syslog|journal  each stick's audit record to the system log as well\n"
		"exit status: 0 every stick done, 1 a stick failed, 2 bad usage or image\n");
}

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "ports", no_argument, NULL, 'p' },    { "log", required_argument, NULL, 'l' },
		{ "port-map", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },     { "probe", no_argument, NULL, 'P' },
		{ "sanitize", no_argument, NULL, 'S' },
		{ "rewrite", no_argument, NULL, 'r' },  { "existing", no_argument, NULL, 'e' },
		{ "pubkey", required_argument, NULL, 'k' }, { "no-eject", no_argument, NULL, 'E' },
		{ "allow-non-usb", no_argument, NULL, 'A' }, { "unmount", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ "known", required_argument, NULL, 'K' },
		{ "metrics", required_argument, NULL, 'M' }, { "log-to", required_argument, NULL, 'L' },
		{ 0 },
	};
	bool in_ports = false, ports_seen = false;
	struct dd_err err;
	int ch;

	o->ports = calloc((size_t)argc, sizeof(*o->ports));
	o->pubkeys = calloc((size_t)argc, sizeof(*o->pubkeys));
	o->known = calloc((size_t)argc, sizeof(*o->known));
	if (!o->ports || !o->pubkeys || !o->known)
		return 2;
	dd_policy_default(&o->policy);
	opterr = 0;
	optind = 1;
	/* '-' in front: non-options come back as ch 1, in order, so "--ports A B IMAGE" is possible only
	 * with IMAGE first; every word after --ports up to the next option is a port */
	while ((ch = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
		if (ch != 1)
			in_ports = false;
		switch (ch) {
		case 1:
			if (in_ports)
				o->ports[o->n_ports++] = optarg;
			else if (!o->image)
				o->image = optarg;
			else {
				cli_error("station: unexpected argument %s (one IMAGE)", optarg);
				return 2;
			}
			break;
		case 'p': in_ports = ports_seen = true; break;
		case 'l': o->log = optarg; break;
		case 'm': o->port_map = optarg; break;
		case 'j': o->json = true; break;
		case 'P': /* the policy's own words (engine/policy.h) */
		case 'S':
			if (dd_policy_set(&o->policy, ch == 'P' ? "probe" : "sanitize", NULL, &err)) {
				cli_error("station: --%s", err.msg);
				return 2;
			}
			break;
		case 'r': o->rewrite = true; break;
		case 'e': o->existing = true; break;
		case 'k': o->pubkeys[o->n_pubkeys++] = optarg; break;
		case 'K': o->known[o->n_known++] = optarg; break;
		case 'E': o->no_eject = true; break;
		case 'A': o->allow_non_usb = true; break;
		case 'M': o->metrics = optarg; break;
		case 'L':
			if (fleet_parse_log_to(optarg, &o->log_to))
				return 2;
			break;
		case 'U': o->unmount = true; break;
		case 'h': usage(stdout); return 0;
		default:
			cli_error("station: unknown option %s (dartdup station --help)", argv[optind - 1]);
			return 2;
		}
	}
	if (!o->image) {
		usage(stderr);
		return 2;
	}
	if (ports_seen && !o->n_ports) { /* "--ports --unmount IMAGE" too: --ports ends at an option */
		cli_error("station: --ports needs at least one port");
		return 2;
	}
	if (o->n_ports > STATION_MAX_SLOTS) {
		cli_error("station: at most %d ports", STATION_MAX_SLOTS);
		return 2;
	}
	return -1; /* go on */
}

/* The --ports entries, or the map's sockets, that no port of this machine matches: a typo, a hub not
 * plugged in, another PC's map. Reported at start (a warning line, the view, --json's start event). */
static void find_missing(struct ctx *c)
{
	size_t len = 0;

	for (unsigned i = 0; i < c->st.n_slots && c->n_missing < STATION_MAX_SLOTS; i++) {
		const struct station_slot *sl = &c->st.slot[i];
		bool here = false;

		if (sl->map_entry >= 0)
			for (unsigned j = 0; j < c->map.e[sl->map_entry].n_paths; j++)
				here |= host_port_exists("/sys", c->map.e[sl->map_entry].path[j]);
		else
			here = host_port_exists("/sys", sl->port);
		if (here)
			continue;
		snprintf(c->missing[c->n_missing++], sizeof(c->missing[0]), "%s", sl->map_entry >= 0 ? sl->label : sl->port);
	}
	if (!c->n_missing)
		return;
	len = (size_t)snprintf(c->warning, sizeof(c->warning), "warning: %u port(s) not found on this machine:",
			       c->n_missing);
	for (unsigned i = 0; i < c->n_missing && len < sizeof(c->warning); i++)
		len += (size_t)snprintf(c->warning + len, sizeof(c->warning) - len, " %s", c->missing[i]);
	cli_error("station: %s", c->warning + strlen("warning: ")); /* on a terminal the view shows it too */
}

static int run(struct ctx *c)
{
	struct udev *udev = udev_new();
	struct udev_monitor *mon = udev ? station_open_monitor(udev) : NULL;
	int sig_fd = -1, rc = 2;

	c->udev = udev;
	if (!mon) {
		cli_error("station: cannot listen to udev (is systemd-udevd running?)");
		goto out;
	}
	sig_fd = open_signals();
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sig_fd < 0 || c->wake_fd < 0) {
		cli_error("station: cannot set up signals: %s", strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	station_screen_begin(c);
	station_log(c, "station: writing %s onto every stick plugged in%s; Ctrl-C stops", c->o.image,
		 c->o.n_ports ? " on the given ports" : "");
	station_emit_start(c);
	if (c->o.existing)
		station_adopt_existing(c, udev);
	loop(c, mon, sig_fd);
	station_print_totals(c);
	rc = c->st.c.failed || c->fleet.failures ? 1 : 0;
out:
	if (sig_fd >= 0)
		close(sig_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (mon)
		udev_monitor_unref(mon);
	if (udev)
		udev_unref(udev);
	return rc;
}

/* --known: packages only read to recognise what a stick held (no key needed: naming, not trusting). */
static int open_known(struct ctx *c)
{
	struct dd_source_opts so = { 0 };
	struct dd_err err;

	c->known = calloc(c->o.n_known + 1, sizeof(*c->known));
	if (!c->known)
		return -1;
	for (unsigned i = 0; i < c->o.n_known; i++) {
		dd_err_clear(&err);
		if (dd_source_open(c->o.known[i], &so, &c->known[i], &err)) {
			cli_error("%s", err.msg);
			return -1;
		}
		if (strcmp(c->known[i]->info.format, "dfi")) {
			cli_error("%s: --known takes .dfi packages (this is %s)", c->o.known[i], c->known[i]->info.format);
			return -1;
		}
	}
	return 0;
}

int cmd_station(int argc, char **argv)
{
	struct ctx c = { .wake_fd = -1 };
	struct dd_source_opts so = { 0 };
	struct dd_err err;
	int rc;

	rc = parse(argc, argv, &c.o);
	if (rc >= 0)
		goto out;
	if (c.o.log && dd_door_judge_log(c.o.log, &c.o.image, 1, &err)) {
		cli_error("%s", err.msg);
		rc = 2;
		goto out;
	}
	c.fleet.metrics_path = c.o.metrics;
	c.fleet.log_to = c.o.log_to;
	c.fleet.inputs = &c.o.image;
	c.fleet.n_inputs = 1;
	c.fleet.probed = c.o.policy.probe;
	if (fleet_out_open(&c.fleet, &err)) {
		cli_error("%s", err.msg);
		rc = 2;
		goto out;
	}
	so.pubkeys = c.o.pubkeys;
	so.n_pubkeys = c.o.n_pubkeys;
	dd_err_clear(&err);
	if (host_image_open(c.o.image, &so, &c.src, &err)) {
		cli_error("%s", err.msg);
		rc = 2; /* no stick was touched */
		goto out;
	}
	if (open_known(&c)) {
		rc = 2;
		goto out;
	}
	fleet_out_image(&c.fleet, c.src->info.image_id, c.src->info.name);
	if (host_portmap_load(c.o.port_map, &c.map, c.map_file, sizeof(c.map_file), &err)) {
		cli_error("%s", err.msg);
		rc = 2;
		goto out;
	}
	station_init(&c.st, c.o.ports, c.o.n_ports, &c.map);
	c.tty = isatty(STDOUT_FILENO);
	find_missing(&c);
	pthread_mutex_init(&c.lock, NULL);
	c.colour = term_colour(STDOUT_FILENO);
	rc = run(&c);
	pthread_mutex_destroy(&c.lock);
out:
	if (c.src)
		dd_source_close(c.src);
	for (unsigned i = 0; c.known && i < c.o.n_known; i++)
		if (c.known[i])
			dd_source_close(c.known[i]);
	free(c.known);
	fleet_out_close(&c.fleet);
	free(c.o.ports);
	free(c.o.pubkeys);
	free(c.o.known);
	return rc;
}
