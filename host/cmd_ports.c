/* dartdup ports learn | check (docs/PORTS.md). `learn -o FILE`: the technician plugs a stick into each
 * socket in turn; each new USB disk's port (udev ID_PATH cut after the USB port) gets the next name; the
 * map is written through the door (common/safety) at the end, also after Ctrl-C or --timeout with what was
 * learned. `check`: the map's sockets, whether this machine has each, and sticks in sockets it does not name. */
#include "host/ports.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libudev.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "host/cli.h"
#include "safety/door.h"
#include "safety/safety.h"
#include "util/escape.h"
#include "util/number.h"

struct learn {
	const char *out;
	char **names;            /* --names, split */
	unsigned n_names;
	unsigned count;          /* sockets to learn; 0: until Ctrl-C or Enter */
	unsigned timeout;        /* seconds to wait for each new socket; 0: no limit */
	char prefix[8];          /* A: A1, A2, ... */
	struct dd_portmap map;
};

static void learn_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup ports learn -o FILE [--count N | --names NAME,NAME,...] [--prefix LETTERS]\n"
		"                           [--timeout SECONDS]\n"
		"Asks you to plug a stick into each socket in turn and writes a port map (docs/PORTS.md) naming\n"
		"them A1, A2, ... (or the names given): one 'port.NAME = PATH' line per socket, for\n"
		"`dartdup station --port-map FILE`, write, list, and a board's board.conf. Nothing is written to a stick.\n"
		"  -o, --output FILE  the map to write (a regular file: a device or the like is refused)\n"
		"  --count N        learn N sockets, then write the file (default: until Enter or Ctrl-C)\n"
		"  --names A,B,...  the sockets' names, in the order you will plug them (implies --count)\n"
		"  --prefix TEXT    names TEXT1, TEXT2, ... (default A)\n"
		"  --timeout SECONDS  stop when no new socket is plugged within SECONDS (default: wait for ever);\n"
		"                   what was learned is written\n"
		"exit status: 0 written, 1 --timeout before --count sockets (those learned are written),\n"
		"             2 bad usage, nothing learned or the file refused\n");
}

static bool name_ok(const char *s)
{
	struct dd_portmap probe;
	struct dd_err err;
	char key[DD_PORT_NAME_MAX + 8];

	dd_portmap_init(&probe, "--names");
	snprintf(key, sizeof(key), "port.%s", s);
	return strlen(s) < DD_PORT_NAME_MAX && !dd_portmap_line(&probe, 1, key, "pci-0-usb-0:1", &err);
}

static int learn_parse(int argc, char **argv, struct learn *L, char **names_buf)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "count", required_argument, NULL, 'c' },
		{ "names", required_argument, NULL, 'n' },  { "prefix", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int ch;

	snprintf(L->prefix, sizeof(L->prefix), "A");
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': L->out = optarg; break;
		case 'c':
			if (dd_parse_u64(optarg, DD_PORTMAP_MAX, &v) || !v) {
				cli_error("ports learn: --count %s: a number of sockets, 1..%d", optarg, DD_PORTMAP_MAX);
				return 2;
			}
			L->count = (unsigned)v;
			break;
		case 'n': *names_buf = optarg; break;
		case 't':
			if (dd_parse_u64(optarg, 86400, &v) || !v) {
				cli_error("ports learn: --timeout %s: seconds, 1..86400", optarg);
				return 2;
			}
			L->timeout = (unsigned)v;
			break;
		case 'p':
			if (strlen(optarg) >= sizeof(L->prefix) - 2 || !name_ok(optarg)) {
				cli_error("ports learn: --prefix %s: up to 5 letters, digits, '-' or '_'", optarg);
				return 2;
			}
			snprintf(L->prefix, sizeof(L->prefix), "%s", optarg);
			break;
		case 'h': learn_usage(stdout); return 0;
		default:
			cli_error("ports learn: unknown option %s (dartdup ports learn --help)", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc || !L->out) {
		if (optind != argc)
			cli_error("ports learn: unexpected argument %s", argv[optind]);
		else
			cli_error("ports learn: -o FILE is required (where the port map goes)");
		return 2;
	}
	return -1;
}

/* --names A,B,C: checked and split in place. */
static int split_names(struct learn *L, char *names)
{
	L->names = calloc(DD_PORTMAP_MAX, sizeof(*L->names));
	if (!L->names)
		return 2;
	for (char *save = NULL, *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!name_ok(t)) {
			cli_error("ports learn: --names: '%s' is not a port name (1 to 15 letters, digits, '-' or '_')", t);
			return 2;
		}
		for (unsigned i = 0; i < L->n_names; i++)
			if (!strcmp(L->names[i], t)) {
				cli_error("ports learn: --names: %s given twice", t);
				return 2;
			}
		if (L->n_names == DD_PORTMAP_MAX) {
			cli_error("ports learn: --names: at most %d", DD_PORTMAP_MAX);
			return 2;
		}
		L->names[L->n_names++] = t;
	}
	if (!L->n_names) {
		cli_error("ports learn: --names needs at least one name");
		return 2;
	}
	if (L->count && L->count != L->n_names) {
		cli_error("ports learn: --count %u but %u names", L->count, L->n_names);
		return 2;
	}
	L->count = L->n_names;
	return -1;
}

static void next_name(const struct learn *L, char *out, size_t size)
{
	if (L->n_names)
		snprintf(out, size, "%s", L->names[L->map.n]);
	else
		snprintf(out, size, "%s%u", L->prefix, L->map.n + 1);
}

static void prompt(const struct learn *L)
{
	char name[DD_PORT_NAME_MAX];

	next_name(L, name, sizeof(name));
	if (L->count)
		printf("plug a stick into socket %s (%u of %u); Ctrl-C stops\n", name, L->map.n + 1, L->count);
	else
		printf("plug a stick into socket %s; Enter or Ctrl-C when every socket is named\n", name);
	fflush(stdout);
}

/* A disk appeared: a USB stick on a socket not yet named gets the next name. */
static void learn_disk(struct learn *L, struct udev_device *dev)
{
	const char *action = udev_device_get_action(dev), *id_path = udev_device_get_property_value(dev, "ID_PATH");
	struct udev_device *usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
	char path[DD_PORT_PATH_MAX], name[DD_PORT_NAME_MAX], key[DD_PORT_NAME_MAX + 8];
	struct dd_err err;
	int i;

	if (!action || strcmp(action, "add") || !usb || !id_path)
		return;
	dd_port_path_of(id_path, path, sizeof(path));
	if ((i = dd_portmap_find(&L->map, id_path)) >= 0) {
		printf("that socket is %s already: plug the stick into the next socket\n", L->map.e[i].name);
		fflush(stdout);
		return;
	}
	next_name(L, name, sizeof(name));
	snprintf(key, sizeof(key), "port.%s", name);
	if (dd_portmap_line(&L->map, L->map.n + 1, key, path, &err)) {
		cli_error("ports learn: %s", err.msg);
		return;
	}
	printf("%s = %s (%s)\n", name, DD_ESC(path), DD_ESC(udev_device_get_sysname(usb)));
	fflush(stdout);
}

static int write_map(struct learn *L)
{
	const char *inputs[] = { NULL };
	struct dd_err err;
	char *text;
	size_t need = dd_portmap_format(&L->map, NULL, 0) + 1;
	int fd, rc = 0;

	if (!L->map.n) {
		cli_error("ports learn: no socket learned: %s not written", L->out);
		return 2;
	}
	text = malloc(need);
	if (!text)
		return 2;
	dd_portmap_format(&L->map, text, need);
	if (dd_door_open_output(L->out, inputs, 0, O_WRONLY, DD_DOOR_TRUNC, 0644, &fd, &err)) {
		cli_error("%s", err.msg);
		free(text);
		return 2;
	}
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd)) {
		cli_error("ports learn: %s: %s", L->out, strerror(errno));
		rc = 2;
	}
	close(fd);
	free(text);
	if (!rc)
		printf("wrote %u socket(s) to %s\n", L->map.n, DD_ESC(L->out));
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --timeout ran out waiting for the next socket: what was learned is written; short of --count that is
 * exit 1 (a script must not take a part map for a whole one), without --count it is the end. */
static int learn_timed_out(struct learn *L)
{
	char name[DD_PORT_NAME_MAX];
	int rc;

	next_name(L, name, sizeof(name));
	if (!L->count) {
		printf("no new socket within %u s: done\n", L->timeout);
		return write_map(L);
	}
	cli_error("ports learn: no stick plugged into socket %s within %u s: stopping with %u of %u socket(s)",
		  name, L->timeout, L->map.n, L->count);
	rc = write_map(L);
	return rc ? rc : 1;
}

static int learn_loop(struct learn *L, struct udev_monitor *mon, int sig_fd)
{
	struct pollfd pfd[3] = {
		{ .fd = udev_monitor_get_fd(mon), .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
		{ .fd = isatty(STDIN_FILENO) ? STDIN_FILENO : -1, .events = POLLIN },
	};
	unsigned shown = (unsigned)-1;
	int64_t deadline = 0;

	while (!L->count || L->map.n < L->count) {
		int wait = -1, n;

		if (shown != L->map.n) {
			prompt(L);
			shown = L->map.n;
			deadline = now_ms() + (int64_t)L->timeout * 1000; /* each socket gets the whole time */
		}
		if (L->timeout) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return learn_timed_out(L);
			wait = left > INT_MAX ? INT_MAX : (int)left;
		}
		n = poll(pfd, 3, wait);
		if (n < 0 && errno != EINTR)
			return 2;
		if (n <= 0)
			continue; /* a signal or the deadline: judged at the top */
		if (pfd[1].revents & POLLIN)
			break;
		if (pfd[2].revents & (POLLIN | POLLHUP)) {
			char line[64];

			if (!fgets(line, sizeof(line), stdin) || !L->count)
				break;
		}
		if (pfd[0].revents & POLLIN) {
			struct udev_device *dev = udev_monitor_receive_device(mon);

			if (dev) {
				learn_disk(L, dev);
				udev_device_unref(dev);
			}
		}
	}
	return write_map(L);
}

static int ports_learn(int argc, char **argv)
{
	struct learn *L = calloc(1, sizeof(*L));
	struct udev *udev = NULL;
	struct udev_monitor *mon = NULL;
	char *names = NULL;
	sigset_t set;
	int rc, sig_fd = -1;
	struct dd_err err;

	if (!L)
		return 2;
	rc = learn_parse(argc, argv, L, &names);
	if (rc < 0 && names)
		rc = split_names(L, names);
	if (rc >= 0)
		goto out;
	dd_portmap_init(&L->map, L->out);
	/* judged before the first prompt, so a refused -o costs no plugging */
	if (dd_door_judge_output(L->out, NULL, 0, &err)) {
		cli_error("%s", err.msg);
		rc = 2;
		goto out;
	}
	udev = udev_new();
	mon = udev ? udev_monitor_new_from_netlink(udev, "udev") : NULL;
	if (!mon || udev_monitor_filter_add_match_subsystem_devtype(mon, "block", "disk") ||
	    udev_monitor_enable_receiving(mon)) {
		cli_error("ports learn: cannot listen to udev (is systemd-udevd running?)");
		rc = 2;
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sig_fd < 0) {
		cli_error("ports learn: cannot set up signals: %s", strerror(errno));
		rc = 2;
		goto out;
	}
	rc = learn_loop(L, mon, sig_fd);
out:
	if (sig_fd >= 0)
		close(sig_fd);
	if (mon)
		udev_monitor_unref(mon);
	if (udev)
		udev_unref(udev);
	free(L->names);
	free(L);
	return rc;
}

static void ports_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup ports learn -o FILE [--count N | --names A,B,...] [--prefix TEXT]\n"
		"       dartdup ports check [--port-map FILE]\n"
		"A port map names each USB socket (docs/PORTS.md): the station, write, list and a board's board.conf\n"
		"show those names instead of the kernel's port names (1-1.4).\n"
		"\n"
		"commands:\n"
		"  learn          plug a stick into each socket in turn; writes the map (dartdup ports learn --help)\n"
		"  check          which of the map's sockets this machine has (default map %s), and the\n"
		"                 sticks plugged into sockets the map does not name\n"
		"\n"
		"exit status: 0 ok, 1 check: a socket not found or a stick in a socket the map does not name,\n"
		"             2 bad usage or a bad map\n", HOST_PORTMAP_DEFAULT);
}

/* The USB sticks plugged in now whose socket the map does not name (the station would leave them alone):
 * one line each; returns how many. A machine whose disks cannot be listed reports none. */
static unsigned unnamed_sticks(const struct dd_portmap *m)
{
	struct dd_safety_opts so = { 0 };
	struct dd_disk *disks;
	struct dd_err err;
	unsigned n, unnamed = 0;

	if (dd_safety_list(&so, &disks, &n, &err))
		return 0;
	for (unsigned i = 0; i < n; i++) {
		const struct dd_target_identity *id = &disks[i].id;
		char path[DD_PORT_PATH_MAX];

		if (!disks[i].usb || !id->port[0] || dd_portmap_find(m, id->port) >= 0)
			continue;
		dd_port_path_of(id->port, path, sizeof(path));
		printf("%-15s %-9s %s (%s, %s)\n", "-", "no name", DD_ESC(path), id->usb[0] ? DD_ESC(id->usb) : "-",
		       DD_ESC(disks[i].devnode));
		unnamed++;
	}
	dd_safety_free(disks);
	return unnamed;
}

/* dartdup ports check [--port-map FILE]: the map's sockets, whether each exists here, and the sticks in
 * sockets it does not name. */
static int ports_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port-map", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct dd_portmap *m = malloc(sizeof(*m));
	const char *file = NULL;
	char used[256];
	struct dd_err err;
	unsigned missing = 0, unnamed;
	int ch, rc = 0;

	if (!m)
		return 2;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'm') {
			file = optarg;
		} else if (ch == 'h') {
			ports_usage(stdout);
			goto out;
		} else {
			cli_error("ports check: unknown option %s (dartdup ports --help)", argv[optind - 1]);
			rc = 2;
			goto out;
		}
	}
	if (optind != argc) {
		cli_error("ports check: unexpected argument %s", argv[optind]);
		rc = 2;
		goto out;
	}
	if (host_portmap_load(file, m, used, sizeof(used), &err)) {
		cli_error("%s", err.msg);
		rc = 2;
		goto out;
	}
	if (!used[0]) {
		cli_error("ports check: no port map (%s does not exist; --port-map FILE)", HOST_PORTMAP_DEFAULT);
		rc = 2;
		goto out;
	}
	for (unsigned i = 0; i < m->n; i++) {
		bool here = false;

		for (unsigned j = 0; j < m->e[i].n_paths; j++)
			here |= host_port_exists("/sys", m->e[i].path[j]);
		missing += !here;
		printf("%-15s %-9s %s\n", m->e[i].name, here ? "found" : "not found", m->e[i].path[0]);
	}
	unnamed = unnamed_sticks(m);
	printf("%s: %u socket(s), %u not found on this machine\n", DD_ESC(used), m->n, missing);
	if (unnamed)
		printf("%u stick(s) in a socket the map does not name (\"no name\" above)\n", unnamed);
	rc = missing || unnamed ? 1 : 0;
out:
	free(m);
	return rc;
}

int cmd_ports(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		ports_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "learn"))
		return ports_learn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return ports_check(argc - 1, argv + 1);
	cli_error("ports: unknown subcommand '%s' (learn, check)", argv[1]);
	return 2;
}
