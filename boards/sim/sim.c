/* The simulated board: runs on any Linux machine.
 *   ports   regular files or loop devices (a port holds a stick while its path exists; a new
 *           file (new inode) at the path is a new stick)
 *   link    a Unix stream socket carrying the same frames as USB
 *   button  SIGUSR1 (or `dartdup board start`)
 *   lights  printed on the terminal (stdout): one line per change, redrawn in place on a tty
 *   store   a directory (--store)
 *   master  --master N: port N is the master port (firmware/master.h); a directory at its path stands
 *           for a stick whose FAT file system is mounted there (no vfat, no root needed). A directory in
 *           any other port is no stick at all.
 *   names   --port-map FILE: a port map (docs/PORTS.md, the board.conf `ports = FILE` file) names the ports
 *           in its order (its paths are not used: a sim port has no USB path); without one the ports have
 *           no names (PORTS sends "", the PC shows the numbers). */
#include "firmware/board.h"
#include "util/number.h"
#include "util/portmap.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define LOOP_MAJOR_NR 7

struct sim {
	struct dd_board b;
	const char *socket_path;
	const char *ports[DD_LINK_MAX_PORTS];
	int listen_fd, button_fd;
	int light[DD_LINK_MAX_PORTS];
	unsigned pct[DD_LINK_MAX_PORTS];
	bool tty;
	unsigned links;
	unsigned speed_mbps;       /* --usb-speed: what every port reports (0 unknown) */
	const char *stick_serial;  /* --stick-serial: every stick reports this serial ("" blank) */
	const char *port_map;      /* --port-map: the ports' names, in the map's order */
	uint64_t fake_size[DD_LINK_MAX_PORTS]; /* --counterfeit N:SIZE: port N's stick announces SIZE
						  bytes but holds its file's size (0: genuine) */
};

/* A counterfeit stick (--counterfeit): announces more than it holds, and offsets past what it holds
 * wrap around onto its first bytes, as the cheap fakes do (docs/PROBE.md). */
struct fake_stick {
	struct dd_target t;
	struct dd_target *real;
	uint64_t held;             /* bytes it really holds (> 0) */
};

static int fake_io(struct dd_target *t, void *buf, size_t len, uint64_t off, bool wr, struct dd_err *err)
{
	struct fake_stick *f = t->priv;

	while (len) {
		uint64_t at = off % f->held;
		size_t n = f->held - at < len ? (size_t)(f->held - at) : len;
		int rc = wr ? f->real->ops->write_at(f->real, buf, n, at, err) :
			      f->real->ops->read_at(f->real, buf, n, at, err);

		if (rc)
			return rc;
		buf = (uint8_t *)buf + n;
		off += n;
		len -= n;
	}
	return DD_OK;
}

static int fake_write(struct dd_target *t, const void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	return fake_io(t, (void *)buf, len, off, true, err);
}

static int fake_read(struct dd_target *t, void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	return fake_io(t, buf, len, off, false, err);
}

static int fake_flush(struct dd_target *t, struct dd_err *err)
{
	struct fake_stick *f = t->priv;

	return f->real->ops->flush(f->real, err);
}

static void fake_close(struct dd_target *t)
{
	struct fake_stick *f = t->priv;

	dd_target_close(f->real);
	free(f);
}

static const struct dd_target_ops fake_stick_ops = { fake_write, fake_read, fake_flush, fake_close };

/* Wraps *t (a file holding the stick's real bytes) into a stick announcing `announced` bytes. */
static int fake_stick_open(struct dd_target **t, uint64_t announced, struct dd_err *err)
{
	struct fake_stick *f;

	if (!(*t)->id.capacity || announced <= (*t)->id.capacity)
		return DD_OK; /* holds what it announces: nothing to fake */
	f = calloc(1, sizeof(*f));
	if (!f) {
		dd_target_close(*t);
		return dd_fail(err, DD_ENOMEM, "out of memory");
	}
	f->real = *t;
	f->held = (*t)->id.capacity;
	f->t = **t;
	f->t.ops = &fake_stick_ops;
	f->t.priv = f;
	f->t.room = 0;
	f->t.id.capacity = announced;
	*t = &f->t;
	return DD_OK;
}

static unsigned sim_fds(struct dd_board *b, struct pollfd *fds, unsigned max)
{
	struct sim *s = b->priv;

	if (max < 2)
		return 0;
	fds[0] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = s->button_fd, .events = POLLIN };
	return 2;
}

static int sim_dispatch(struct dd_board *b, const struct pollfd *fds, unsigned n, struct dd_board_wake *w,
			struct dd_err *err)
{
	struct sim *s = b->priv;
	struct signalfd_siginfo si;
	char name[64];
	int fd;

	if (n >= 2 && fds[1].revents & POLLIN)
		while (read(s->button_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			w->button = true;
	if (n < 1 || !(fds[0].revents & POLLIN))
		return DD_OK;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return DD_OK; /* the peer went away before we took it */
	/* no send timeout needed: the daemon sends without blocking (send_some) and stops reading from
	 * a peer that does not take its replies (firmware/daemon.h) */
	snprintf(name, sizeof(name), "link %u", ++s->links);
	return dd_link_unix_wrap(fd, name, &w->link, err);
}

static bool is_loop(const struct stat *st)
{
	return S_ISBLK(st->st_mode) && major(st->st_rdev) == LOOP_MAJOR_NR;
}

static uint64_t blockdev_size(const char *path)
{
	uint64_t size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (ioctl(fd, BLKGETSIZE64, &size))
		size = 0;
	close(fd);
	return size;
}

/* Which stick is in the port: a new file at the path is a new stick. Inode numbers are reused
 * at once by some file systems, so the birth time counts too where the file system keeps one. */
static uint64_t generation(const char *path, const struct stat *st)
{
	uint64_t g = (uint64_t)st->st_dev << 40 ^ (uint64_t)st->st_ino ^ (uint64_t)st->st_rdev << 20;
	struct statx sx;

	if (!statx(AT_FDCWD, path, 0, STATX_BTIME, &sx) && (sx.stx_mask & STATX_BTIME))
		g ^= (uint64_t)sx.stx_btime.tv_sec * 1000000007u ^ (uint64_t)sx.stx_btime.tv_nsec << 17;
	return g;
}

static int sim_port_probe(struct dd_board *b, unsigned i, struct dd_board_port *port, struct dd_err *err)
{
	struct sim *s = b->priv;
	struct statvfs vfs;
	struct stat st;

	memset(port, 0, sizeof(*port));
	if (stat(s->ports[i], &st))
		return DD_OK; /* no file: no stick */
	if (S_ISDIR(st.st_mode) && b->master != i + 1)
		return DD_OK; /* a "mounted stick" only counts in the master port */
	if (S_ISDIR(st.st_mode)) {
		port->id.capacity = 0;
	} else if (S_ISREG(st.st_mode)) {
		port->id.capacity = (uint64_t)st.st_size;
		if (!statvfs(s->ports[i], &vfs))
			port->id.capacity += (uint64_t)vfs.f_bavail * vfs.f_frsize;
	} else if (is_loop(&st)) {
		port->id.capacity = blockdev_size(s->ports[i]);
		if (!port->id.capacity)
			return DD_OK; /* a loop device with nothing attached: empty port */
	} else {
		return dd_fail(err, DD_EINPUT, "%s: not a regular file or a loop device", s->ports[i]);
	}
	port->present = true;
	port->generation = generation(s->ports[i], &st);
	snprintf(port->id.path, sizeof(port->id.path), "%s", s->ports[i]);
	snprintf(port->id.port, sizeof(port->id.port), "sim-%u", i + 1);
	snprintf(port->id.vendor, sizeof(port->id.vendor), "dartdup");
	snprintf(port->id.model, sizeof(port->id.model), "sim port");
	snprintf(port->id.serial, sizeof(port->id.serial), "SIM%u-%llx", i + 1, (unsigned long long)st.st_ino);
	if (s->stick_serial) /* cheap sticks: a blank or shared serial */
		snprintf(port->id.serial, sizeof(port->id.serial), "%s", s->stick_serial);
	if (s->fake_size[i])
		port->id.capacity = s->fake_size[i];
	port->speed_mbps = s->speed_mbps;
	return DD_OK;
}

static int sim_port_open(struct dd_board *b, unsigned i, uint64_t need_size, struct dd_target **out,
			 struct dd_err *err)
{
	struct sim *s = b->priv;
	struct dd_board_port port;
	struct stat st;
	int rc;

	if ((rc = sim_port_probe(b, i, &port, err)))
		return rc;
	if (!port.present || stat(s->ports[i], &st))
		return dd_fail(err, DD_EINPUT, "%s: no stick", s->ports[i]);
	/* only files and loop devices: the sim board never opens a real disk */
	if (is_loop(&st))
		rc = dd_target_blockdev_open(s->ports[i], DD_TARGET_WRITE, out, err);
	else
		rc = dd_target_file_open(s->ports[i], DD_TARGET_WRITE, need_size, out, err);
	if (!rc && s->fake_size[i])
		rc = fake_stick_open(out, s->fake_size[i], err);
	if (rc)
		return rc;
	snprintf((*out)->id.port, sizeof((*out)->id.port), "%s", port.id.port);
	snprintf((*out)->id.vendor, sizeof((*out)->id.vendor), "%s", port.id.vendor);
	snprintf((*out)->id.model, sizeof((*out)->id.model), "%s", port.id.model);
	snprintf((*out)->id.serial, sizeof((*out)->id.serial), "%s", port.id.serial);
	return DD_OK;
}

static const char *light_name(int state)
{
	static const char *const names[] = { "off",	  "off",	"BUSY",	     "VERIFY",	 "PASS",
					     "FAIL",	  "ATTN",	"MASTER-OK", "MASTER-BAD", "MASTER-NOEXPORT" };

	_Static_assert(sizeof(names) / sizeof(names[0]) == DD_LIGHT_MAX + 1, "light names");
	return state >= 0 && state <= DD_LIGHT_MAX ? names[state] : "?";
}

/* The master port's "mounted stick" is the directory at its path. */
static int sim_master_mount(struct dd_board *b, unsigned i, bool writable, char *dir, size_t len,
			    struct dd_err *err)
{
	struct sim *s = b->priv;
	struct stat st;

	(void)writable;
	if (b->master != i + 1 || stat(s->ports[i], &st) || !S_ISDIR(st.st_mode))
		return dd_fail(err, DD_EINPUT, "port %u: no master stick", i + 1);
	snprintf(dir, len, "%s", s->ports[i]);
	return DD_OK;
}

static void sim_master_umount(struct dd_board *b, unsigned i)
{
	(void)b;
	(void)i;
}

static void sim_set_light(struct dd_board *b, unsigned i, int state, unsigned percent)
{
	struct sim *s = b->priv;
	char line[DD_LINK_MAX_PORTS * 20 + 16];
	size_t len = 0;

	s->light[i] = state;
	s->pct[i] = percent;
	len += (size_t)snprintf(line + len, sizeof(line) - len, "lights:");
	for (unsigned k = 0; k < b->n_ports; k++) {
		bool moving = s->light[k] == DD_PORT_BUSY || s->light[k] == DD_PORT_VERIFYING;

		if (moving)
			len += (size_t)snprintf(line + len, sizeof(line) - len, " [%u %s %3u%%]", k + 1,
						light_name(s->light[k]), s->pct[k]);
		else
			len += (size_t)snprintf(line + len, sizeof(line) - len, " [%u %s]", k + 1,
						light_name(s->light[k]));
	}
	if (s->tty)
		printf("\r\033[K%s", line);
	else
		printf("%s\n", line);
	fflush(stdout);
}

static void sim_close(struct dd_board *b)
{
	struct sim *s = b->priv;

	if (s->tty)
		putchar('\n');
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->socket_path);
	}
	if (s->button_fd >= 0)
		close(s->button_fd);
	free(s);
}

static const struct dd_board_ops sim_ops = {
	.fds = sim_fds,
	.dispatch = sim_dispatch,
	.port_probe = sim_port_probe,
	.port_open = sim_port_open,
	.master_mount = sim_master_mount,
	.master_umount = sim_master_umount,
	.set_light = sim_set_light,
	.close = sim_close,
};

/* --policy KEY=VALUE: the description file's policy keys of a real board (docs/BOARD.md: probe,
 * sanitize, full, retries), in the same words. */
static int policy_option(struct dd_board *b, const char *opt, struct dd_err *err)
{
	char key[32];
	const char *eq = strchr(opt, '=');

	if (!eq || (size_t)(eq - opt) >= sizeof(key))
		return dd_fail(err, DD_EUSAGE, "sim board: --policy %s: expected KEY=VALUE (probe=yes)", opt);
	memcpy(key, opt, (size_t)(eq - opt));
	key[eq - opt] = '\0';
	if (dd_policy_set(&b->policy, key, eq + 1, err)) {
		dd_err_prefix(err, "sim board: --policy");
		return err->code;
	}
	return DD_OK;
}

/* --counterfeit N:SIZE (a test rig's fake stick): port N announces SIZE bytes (K/M/G suffixes). */
static int counterfeit_option(struct sim *s, const char *opt, struct dd_err *err)
{
	char num[16];
	const char *colon = strchr(opt, ':');
	uint64_t port, size;

	if (!colon || (size_t)(colon - opt) >= sizeof(num))
		return dd_fail(err, DD_EUSAGE, "sim board: --counterfeit %s: expected PORT:SIZE (2:64M)", opt);
	memcpy(num, opt, (size_t)(colon - opt));
	num[colon - opt] = '\0';
	if (dd_parse_u64(num, DD_LINK_MAX_PORTS, &port) || !port ||
	    dd_parse_size(colon + 1, UINT64_MAX / 2, &size) || !size)
		return dd_fail(err, DD_EUSAGE, "sim board: --counterfeit %s: expected PORT (1..%d):SIZE (64M)", opt,
			       DD_LINK_MAX_PORTS);
	s->fake_size[port - 1] = size;
	return DD_OK;
}

/* --port-map FILE: entry i names port i, the way board.conf's `ports = FILE` makes slot i of entry i. */
static int name_ports(struct sim *s, struct dd_err *err)
{
	struct dd_portmap *m = malloc(sizeof(*m));
	int rc = DD_OK;

	if (!m)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	dd_portmap_init(m, s->port_map);
	if (dd_portmap_load(m, s->port_map, err))
		rc = err->code;
	else if (m->n > s->b.n_ports)
		rc = dd_fail(err, DD_EUSAGE, "%s: %u ports named, the board has %u (--port)", s->port_map, m->n,
			     s->b.n_ports);
	for (unsigned i = 0; !rc && i < m->n; i++) {
		_Static_assert(sizeof(m->e[i].name) <= sizeof(s->b.port_name[i]), "a map's name fits PORTS");
		snprintf(s->b.port_name[i], sizeof(s->b.port_name[i]), "%s", m->e[i].name);
	}
	free(m);
	if (rc)
		dd_err_prefix(err, "sim board: --port-map");
	return rc;
}

static int parse(struct sim *s, int argc, char **argv, struct dd_err *err)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "store", required_argument, NULL, 'd' },
		{ "pubkey", required_argument, NULL, 'k' }, { "port", required_argument, NULL, 'p' },
		{ "serial", required_argument, NULL, 'n' }, { "rtc", required_argument, NULL, 'r' },
		{ "usb-speed", required_argument, NULL, 'u' }, { "stick-serial", required_argument, NULL, 'e' },
		{ "policy", required_argument, NULL, 'P' }, { "counterfeit", required_argument, NULL, 'c' },
		{ "master", required_argument, NULL, 'm' }, { "port-map", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': s->socket_path = optarg; break;
		case 'd': snprintf(s->b.store_dir, sizeof(s->b.store_dir), "%s", optarg); break;
		case 'n': snprintf(s->b.serial, sizeof(s->b.serial), "%s", optarg); break;
		case 'r': snprintf(s->b.rtc, sizeof(s->b.rtc), "%s", optarg); break;
		case 'e': s->stick_serial = optarg; break;
		case 'M': s->port_map = optarg; break;
		case 'P':
			if (policy_option(&s->b, optarg, err))
				return err->code;
			break;
		case 'c':
			if (counterfeit_option(s, optarg, err))
				return err->code;
			break;
		case 'u':
			if (dd_parse_u64(optarg, 100000, &v))
				return dd_fail(err, DD_EUSAGE, "sim board: --usb-speed: '%s' is not Mbit/s (0..100000)", optarg);
			s->speed_mbps = (unsigned)v;
			break;
		case 'm':
			if (dd_parse_u64(optarg, DD_LINK_MAX_PORTS, &v) || !v)
				return dd_fail(err, DD_EUSAGE, "sim board: --master: '%s' is not a port number", optarg);
			s->b.master = (unsigned)v;
			break;
		case 'k':
			if (s->b.n_pubkeys == DD_BOARD_MAX_KEYS)
				return dd_fail(err, DD_EUSAGE, "at most %d --pubkey", DD_BOARD_MAX_KEYS);
			s->b.pubkeys[s->b.n_pubkeys++] = optarg;
			break;
		case 'p':
			if (s->b.n_ports == DD_LINK_MAX_PORTS)
				return dd_fail(err, DD_EUSAGE, "at most %d --port", DD_LINK_MAX_PORTS);
			s->ports[s->b.n_ports++] = optarg;
			break;
		default:
			return dd_fail(err, DD_EUSAGE, "sim board: bad option (see dartdupd --help)");
		}
	}
	if (optind < argc)
		return dd_fail(err, DD_EUSAGE, "sim board: unexpected argument '%s'", argv[optind]);
	if (!s->socket_path || !s->b.store_dir[0] || !s->b.n_ports)
		return dd_fail(err, DD_EUSAGE, "sim board: --socket, --store and at least one --port are required");
	if (s->b.master > s->b.n_ports)
		return dd_fail(err, DD_EUSAGE, "sim board: --master %u: there are %u ports", s->b.master, s->b.n_ports);
	if (!s->b.n_pubkeys)
		return dd_fail(err, DD_EUSAGE, "sim board: at least one --pubkey (depot key) is required");
	return s->port_map ? name_ports(s, err) : DD_OK;
}

static int open_button(struct sim *s, struct dd_err *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return dd_fail_errno(err, DD_EIO, errno, "sigprocmask");
	s->button_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->button_fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "signalfd");
	return DD_OK;
}

static int sim_open(int argc, char **argv, struct dd_board **out, struct dd_err *err)
{
	struct sim *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	s->listen_fd = s->button_fd = -1;
	s->b.ops = &sim_ops;
	s->b.type = "sim";
	s->b.priv = s;
	s->tty = isatty(STDOUT_FILENO);
	for (unsigned i = 0; i < DD_LINK_MAX_PORTS; i++)
		s->light[i] = DD_PORT_EMPTY;
	rc = parse(s, argc, argv, err);
	if (!rc && !s->b.serial[0]) {
		/* stable across restarts: named after its store */
		uint8_t h[DD_SHA256_LEN];

		dd_sha256(s->b.store_dir, strlen(s->b.store_dir), h);
		snprintf(s->b.serial, sizeof(s->b.serial), "SIM-%02X%02X%02X%02X", h[0], h[1], h[2], h[3]);
	}
	if (!rc)
		rc = open_button(s, err);
	if (!rc)
		rc = dd_link_unix_listen(s->socket_path, &s->listen_fd, err);
	if (rc) {
		s->listen_fd = -1;
		sim_close(&s->b);
		return rc;
	}
	*out = &s->b;
	return DD_OK;
}

const struct dd_board_driver dd_board_sim = {
	.name = "sim",
	.usage = "--socket PATH --store DIR --pubkey PUB [--pubkey PUB...] --port PATH [--port PATH...] "
		 "[--serial S] [--rtc /dev/rtcN] [--usb-speed MBPS] [--stick-serial TEXT] [--policy KEY=VALUE...] "
		 "[--counterfeit PORT:SIZE...] [--master N] [--port-map FILE]",
	.open = sim_open,
};
