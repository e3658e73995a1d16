/* Parser of the linux-gadget board description file (conf.h). Strict: an unknown key, a repeated
 * key, a slot number out of order or a port path used twice is an error, never a guess, because a
 * wrong port map would light the wrong slot for a bad stick. */
#include "boards/linux-gadget/conf.h"
#include "util/file.h"

#include <ctype.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOK 8
#define MAX_FILE (256 * 1024)

struct line_ctx {
	const char *file;
	unsigned line;
	struct dd_err *err;
};

static int bad(const struct line_ctx *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const struct line_ctx *l, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return dd_fail(l->err, DD_EINPUT, "%s:%u: %.380s", l->file, l->line, what);
}

static int split(char *s, char **tok, unsigned max)
{
	unsigned n = 0;

	for (char *p = strtok(s, " \t"); p; p = strtok(NULL, " \t")) {
		if (n == max)
			return -1;
		tok[n++] = p;
	}
	return (int)n;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 0);
	return !errno && !*end && *v <= max;
}

static int copy(const struct line_ctx *l, char *dst, size_t cap, const char *key, const char *v)
{
	if (strlen(v) >= cap)
		return bad(l, "%s: value too long (%s)", key, v);
	memcpy(dst, v, strlen(v) + 1);
	return DD_OK;
}

static const struct { const char *name; unsigned code; } key_names[] = {
	{ "KEY_ENTER", KEY_ENTER }, { "KEY_KPENTER", KEY_KPENTER }, { "KEY_SPACE", KEY_SPACE },
	{ "KEY_PROG1", KEY_PROG1 }, { "KEY_PROG2", KEY_PROG2 }, { "KEY_OK", KEY_OK },
	{ "KEY_SELECT", KEY_SELECT }, { "KEY_F1", KEY_F1 }, { "BTN_0", BTN_0 }, { "BTN_1", BTN_1 },
	{ "BTN_TRIGGER", BTN_TRIGGER },
};

static int parse_key(const struct line_ctx *l, const char *s, unsigned *code)
{
	unsigned long v;

	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (!strcmp(s, key_names[i].name)) {
			*code = key_names[i].code;
			return DD_OK;
		}
	if (!parse_uint(s, KEY_MAX, &v))
		return bad(l, "button: unknown key '%s' (KEY_ENTER, BTN_0, ... or a number up to 767)%s", s, "");
	*code = (unsigned)v;
	return DD_OK;
}

static int parse_line_no(const struct line_ctx *l, const char *key, const char *s, unsigned *line)
{
	unsigned long v;

	if (!parse_uint(s, 1023, &v))
		return bad(l, "%s: '%s' is not a GPIO line number", key, s);
	*line = (unsigned)v;
	return DD_OK;
}

static int parse_active_low(const struct line_ctx *l, const char *key, char **tok, int n, int at, bool *al)
{
	if (n == at)
		return DD_OK;
	if (n == at + 1 && !strcmp(tok[at], "active-low")) {
		*al = true;
		return DD_OK;
	}
	return bad(l, "%s: unexpected '%s' (only 'active-low' may follow)", key, tok[at]);
}

static int parse_button(const struct line_ctx *l, char **tok, int n, struct lg_button *b)
{
	if (n == 1 && !strcmp(tok[0], "none")) {
		b->kind = LG_IO_NONE;
		return DD_OK;
	}
	if (n == 3 && !strcmp(tok[0], "input")) {
		b->kind = LG_IO_INPUT;
		if (copy(l, b->dev, sizeof(b->dev), "button", tok[1]))
			return DD_EINPUT;
		return parse_key(l, tok[2], &b->code);
	}
	if ((n == 3 || n == 4) && !strcmp(tok[0], "gpio")) {
		b->kind = LG_IO_GPIO;
		if (copy(l, b->dev, sizeof(b->dev), "button", tok[1]) ||
		    parse_line_no(l, "button", tok[2], &b->code))
			return DD_EINPUT;
		return parse_active_low(l, "button", tok, n, 3, &b->active_low);
	}
	return bad(l, "button: expected 'input DEVICE KEY', 'gpio CHIP LINE [active-low]' or 'none'%s%s", "", "");
}

static int parse_light(const struct line_ctx *l, const char *key, char **tok, int n, struct lg_light *li)
{
	if (n == 1 && !strcmp(tok[0], "none")) {
		li->kind = LG_IO_NONE;
		return DD_OK;
	}
	if (n == 3 && !strcmp(tok[0], "led")) {
		li->kind = LG_IO_LED;
		if (strchr(tok[1], '/') || strchr(tok[2], '/') || !strcmp(tok[1], "..") || !strcmp(tok[2], ".."))
			return bad(l, "%s: LED names are names in /sys/class/leds, not paths%s", key, "");
		if (copy(l, li->green, sizeof(li->green), key, tok[1]) ||
		    copy(l, li->red, sizeof(li->red), key, tok[2]))
			return DD_EINPUT;
		return DD_OK;
	}
	if ((n == 4 || n == 5) && !strcmp(tok[0], "gpio")) {
		li->kind = LG_IO_GPIO;
		if (copy(l, li->dev, sizeof(li->dev), key, tok[1]) ||
		    parse_line_no(l, key, tok[2], &li->green_line) || parse_line_no(l, key, tok[3], &li->red_line))
			return DD_EINPUT;
		if (li->green_line == li->red_line)
			return bad(l, "%s: green and red are the same GPIO line%s", key, "");
		return parse_active_low(l, key, tok, n, 4, &li->active_low);
	}
	return bad(l, "%s: expected 'led GREEN RED', 'gpio CHIP GREEN RED [active-low]' or 'none'%s", key, "");
}

/* slot.N / light.N: N in 1..LG_MAX_SLOTS. */
static int slot_number(const struct line_ctx *l, const char *key, const char *num, unsigned *idx)
{
	unsigned long v;

	if (!parse_uint(num, LG_MAX_SLOTS, &v) || v == 0 || !isdigit((unsigned char)num[0]) || num[0] == '0')
		return bad(l, "%s: slot number must be 1..32%s", key, "");
	*idx = (unsigned)v - 1;
	return DD_OK;
}

static bool valid_port_path(const char *p)
{
	if (!strstr(p, "usb-"))
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(":.-_", *p))
			return false;
	return true;
}

static int parse_slot(const struct line_ctx *l, struct lg_conf *c, const char *key, unsigned idx, char **tok,
		      int n)
{
	struct lg_slot *s = &c->slot[idx];

	if (n > LG_MAX_PATHS)
		return bad(l, "%s: at most 4 port paths per slot%s", key, "");
	for (int i = 0; i < n; i++) {
		if (!valid_port_path(tok[i]))
			return bad(l, "%s: '%s' is not a USB port path (udev ID_PATH, e.g. pci-0000:00:14.0-usb-0:2)",
				   key, tok[i]);
		for (unsigned k = 0; k < LG_MAX_SLOTS; k++)
			for (unsigned j = 0; j < c->slot[k].n_paths; j++)
				if (!strcmp(c->slot[k].path[j], tok[i])) {
					char other[16];

					snprintf(other, sizeof(other), "slot.%u", k + 1);
					return bad(l, "%s: port path already used by %s", key, other);
				}
		if (copy(l, s->path[s->n_paths], sizeof(s->path[0]), key, tok[i]))
			return DD_EINPUT;
		s->n_paths++;
	}
	return DD_OK;
}

static int parse_usb_id(const struct line_ctx *l, const char *key, char **tok, int n, uint16_t *v)
{
	unsigned long x;

	if (n != 1 || !parse_uint(tok[0], 0xffff, &x) || !x)
		return bad(l, "%s: expected a 16-bit number (0x1209)%s", key, "");
	*v = (uint16_t)x;
	return DD_OK;
}

/* Keys whose value is one word (a path or a name). */
static char *word_field(struct lg_conf *c, const char *key, size_t *cap)
{
	static const struct { const char *key; size_t off, cap; } w[] = {
		{ "store", offsetof(struct lg_conf, store), sizeof(((struct lg_conf *)0)->store) },
		{ "usb.udc", offsetof(struct lg_conf, udc), sizeof(((struct lg_conf *)0)->udc) },
		{ "usb.gadget", offsetof(struct lg_conf, gadget_dir), sizeof(((struct lg_conf *)0)->gadget_dir) },
		{ "usb.ffs", offsetof(struct lg_conf, ffs_dir), sizeof(((struct lg_conf *)0)->ffs_dir) },
		{ "rtc", offsetof(struct lg_conf, rtc), sizeof(((struct lg_conf *)0)->rtc) },
	};

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (!strcmp(key, w[i].key)) {
			*cap = w[i].cap;
			return (char *)c + w[i].off;
		}
	return NULL;
}

/* Keys whose value is free text (the rest of the line). */
static char *text_field(struct lg_conf *c, const char *key, size_t *cap)
{
	*cap = sizeof(c->product);
	if (!strcmp(key, "usb.manufacturer"))
		return c->manufacturer;
	if (!strcmp(key, "usb.product"))
		return c->product;
	*cap = sizeof(c->serial);
	if (!strcmp(key, "usb.serial"))
		return c->serial;
	return NULL;
}

static int parse_kv(const struct line_ctx *l, struct lg_conf *c, const char *key, char *value)
{
	char *tok[MAX_TOK], *field, raw[512];
	unsigned idx;
	size_t cap;
	int n;

	snprintf(raw, sizeof(raw), "%s", value);
	n = split(value, tok, MAX_TOK);
	if (n < 0)
		return bad(l, "%s: too many words%s", key, "");
	if (n == 0)
		return bad(l, "%s: missing value%s", key, "");
	if ((field = text_field(c, key, &cap))) {
		for (const char *p = raw; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
				return bad(l, "%s: control character in the text%s", key, "");
		return copy(l, field, cap, key, raw);
	}
	if ((field = word_field(c, key, &cap))) {
		if (n != 1)
			return bad(l, "%s: expected one word, got '%s'", key, raw);
		return copy(l, field, cap, key, tok[0]);
	}
	if (!strcmp(key, "pubkey")) {
		if (n != 1)
			return bad(l, "%s: expected one file, got '%s'", key, raw);
		if (c->n_pubkeys == LG_MAX_KEYS)
			return bad(l, "%s: at most 8 depot keys%s", key, "");
		return copy(l, c->pubkey[c->n_pubkeys++], sizeof(c->pubkey[0]), key, tok[0]);
	}
	if (dd_policy_is_key(key)) { /* probe, sanitize, full, retries: the policy's own words */
		struct dd_err perr;

		if (n != 1)
			return bad(l, "%s: expected one word, got '%s'", key, raw);
		if (dd_policy_set(&c->policy, key, tok[0], &perr))
			return bad(l, "%s", perr.msg);
		return DD_OK;
	}
	if (!strcmp(key, "usb.vid"))
		return parse_usb_id(l, key, tok, n, &c->vid);
	if (!strcmp(key, "usb.pid"))
		return parse_usb_id(l, key, tok, n, &c->pid);
	if (!strcmp(key, "button"))
		return parse_button(l, tok, n, &c->button);
	if (!strcmp(key, "master")) {
		if (n != 1 || slot_number(l, key, tok[0], &idx))
			return n != 1 ? bad(l, "%s: expected a slot number, got '%s'", key, raw) : DD_EINPUT;
		c->master = idx + 1;
		return DD_OK;
	}
	if (dd_portmap_key(key)) /* the port map's own line, read by its own parser (util/portmap.h) */
		return dd_portmap_line(&c->ports, l->line, key, raw, l->err);
	if (!strcmp(key, "ports")) {
		if (n != 1)
			return bad(l, "%s: expected one file, got '%s'", key, raw);
		return copy(l, c->ports_file, sizeof(c->ports_file), key, tok[0]);
	}
	if (!strncmp(key, "slot.", 5)) {
		if (slot_number(l, key, key + 5, &idx))
			return DD_EINPUT;
		return parse_slot(l, c, key, idx, tok, n);
	}
	if (!strncmp(key, "light.", 6)) {
		if (slot_number(l, key, key + 6, &idx))
			return DD_EINPUT;
		return parse_light(l, key, tok, n, &c->slot[idx].light);
	}
	return bad(l, "unknown key '%s'%s", key, "");
}

static void trim(char **s)
{
	char *e;

	while (isspace((unsigned char)**s))
		(*s)++;
	e = *s + strlen(*s);
	while (e > *s && isspace((unsigned char)e[-1]))
		*--e = 0;
}

/* Remembers which keys were seen, for "repeated key" errors (pubkey may repeat). */
struct seen {
	char key[64][24];
	unsigned line[64];
	unsigned n;
};

static int note_key(const struct line_ctx *l, struct seen *s, const char *key)
{
	char first[16];

	if (!strcmp(key, "pubkey"))
		return DD_OK;
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->key[i], key)) {
			snprintf(first, sizeof(first), "%u", s->line[i]);
			return bad(l, "%s: given twice (first on line %s)", key, first);
		}
	if (s->n < 64 && strlen(key) < sizeof(s->key[0])) {
		memcpy(s->key[s->n], key, strlen(key) + 1);
		s->line[s->n++] = l->line;
	}
	return DD_OK;
}

static void defaults(struct lg_conf *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", name);
	dd_portmap_init(&c->ports, name);
	c->vid = 0x1209;
	c->pid = 0x0001;
	snprintf(c->manufacturer, sizeof(c->manufacturer), "dartdup");
	snprintf(c->product, sizeof(c->product), "dartdup duplicator");
	snprintf(c->serial, sizeof(c->serial), "machine-id");
	snprintf(c->udc, sizeof(c->udc), "auto");
	snprintf(c->gadget_dir, sizeof(c->gadget_dir), "/sys/kernel/config/usb_gadget/dartdup");
	snprintf(c->ffs_dir, sizeof(c->ffs_dir), "/run/dartdup/ffs");
}

/* One output or input of the board: a GPIO line (dev, line) or an LED (dev = its name). */
struct io_use {
	const char *dev;
	unsigned line;
	char what[24];
};

static unsigned list_io(const struct lg_conf *c, unsigned n_slots, struct io_use *u)
{
	unsigned n = 0;

	if (c->button.kind == LG_IO_GPIO)
		u[n++] = (struct io_use){ c->button.dev, c->button.code, "button" };
	for (unsigned i = 0; i < n_slots; i++) {
		const struct lg_light *l = &c->slot[i].light;

		if (l->kind == LG_IO_NONE)
			continue;
		u[n] = (struct io_use){ l->kind == LG_IO_GPIO ? l->dev : l->green, l->green_line, "" };
		snprintf(u[n++].what, sizeof(u[0].what), "light.%u green", i + 1);
		u[n] = (struct io_use){ l->kind == LG_IO_GPIO ? l->dev : l->red, l->red_line, "" };
		snprintf(u[n++].what, sizeof(u[0].what), "light.%u red", i + 1);
	}
	return n;
}

/* A GPIO line or an LED serves one purpose: the kernel would refuse the second request of a line
 * only when the daemon starts, and two lights sharing an LED would show one slot's state as another's. */
static int check_io_unique(const char *name, const struct lg_conf *c, unsigned n_slots, struct dd_err *err)
{
	struct io_use *u = calloc(2 * LG_MAX_SLOTS + 1, sizeof(*u));
	unsigned n;
	int rc = DD_OK;

	if (!u)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", name);
	n = list_io(c, n_slots, u);
	for (unsigned i = 0; i < n && !rc; i++)
		for (unsigned j = 0; j < i && !rc; j++)
			if (!strcmp(u[i].dev, u[j].dev) && u[i].line == u[j].line)
				rc = u[i].dev[0] == '/'
					     ? dd_fail(err, DD_EINPUT, "%s: %s: %s line %u is already %s", name,
						       u[i].what, u[i].dev, u[i].line, u[j].what)
					     : dd_fail(err, DD_EINPUT, "%s: %s: LED %s is already %s", name,
						       u[i].what, u[i].dev, u[j].what);
	free(u);
	return rc;
}

/* port.NAME lines (or a ports = FILE map) become the slots, in their order, named. */
static int slots_from_ports(const char *name, struct lg_conf *c, struct dd_err *err)
{
	struct dd_err inner;
	int rc;

	if (c->ports_file[0] && c->ports.n)
		return dd_fail(err, DD_EINPUT, "%s: 'ports = FILE' and port.NAME lines: give one or the other", name);
	/* the map's own error names the map's file and line; said as this file's "ports" line, so that every
	 * refusal of a description file starts with its name */
	if (c->ports_file[0] && (rc = dd_portmap_load(&c->ports, c->ports_file, &inner)))
		return dd_fail(err, rc, "%s: ports: %s", name, inner.msg);
	if (!c->ports.n)
		return DD_OK;
	for (unsigned i = 0; i < LG_MAX_SLOTS; i++)
		if (c->slot[i].n_paths)
			return dd_fail(err, DD_EINPUT, "%s: slot.%u and port.NAME lines (or ports = FILE): give one or "
				       "the other", name, i + 1);
	if (c->ports.n > LG_MAX_SLOTS)
		return dd_fail(err, DD_EINPUT, "%s: %u ports named, a board has at most %d slots", name, c->ports.n,
			       LG_MAX_SLOTS);
	for (unsigned i = 0; i < c->ports.n; i++) {
		struct lg_slot *s = &c->slot[i];

		/* same sizes, NUL-terminated by the parser: whole copies */
		_Static_assert(sizeof(s->label) == sizeof(c->ports.e[i].name), "label size");
		_Static_assert(sizeof(s->path[0]) == sizeof(c->ports.e[i].path[0]), "path size");
		memcpy(s->label, c->ports.e[i].name, sizeof(s->label));
		for (unsigned j = 0; j < c->ports.e[i].n_paths && j < LG_MAX_PATHS; j++)
			memcpy(s->path[s->n_paths++], c->ports.e[i].path[j], sizeof(s->path[0]));
	}
	return DD_OK;
}

/* Whole-file checks after the last line. */
static int check_whole(const char *name, struct lg_conf *c, struct dd_err *err)
{
	unsigned last = 0;
	int rc;

	if ((rc = slots_from_ports(name, c, err)))
		return rc;

	for (unsigned i = 0; i < LG_MAX_SLOTS; i++)
		if (c->slot[i].n_paths)
			last = i + 1;
	for (unsigned i = 0; i < LG_MAX_SLOTS; i++) {
		if (i < last && !c->slot[i].n_paths)
			return dd_fail(err, DD_EINPUT, "%s: slot.%u missing (slots are numbered 1..N without gaps)",
				       name, i + 1);
		if (i >= last && c->slot[i].light.kind != LG_IO_NONE)
			return dd_fail(err, DD_EINPUT, "%s: light.%u given but there is no slot.%u", name, i + 1,
				       i + 1);
	}
	if (!last)
		return dd_fail(err, DD_EINPUT, "%s: no slot.1 line (the board needs at least one slot)", name);
	if (!c->store[0])
		return dd_fail(err, DD_EINPUT, "%s: no 'store' line (where the image is kept)", name);
	if (c->store[0] != '/')
		return dd_fail(err, DD_EINPUT, "%s: store must be an absolute path", name);
	if (c->master > last)
		return dd_fail(err, DD_EINPUT, "%s: master = %u: there is no slot.%u", name, c->master, c->master);
	if (c->rtc[0] && c->rtc[0] != '/')
		return dd_fail(err, DD_EINPUT, "%s: rtc must be an absolute path (/dev/rtc0)", name);
	if (!c->n_pubkeys)
		return dd_fail(err, DD_EINPUT, "%s: no 'pubkey' line (a board needs a depot public key)", name);
	c->n_slots = last;
	return check_io_unique(name, c, last, err);
}

int lg_conf_parse(const char *name, const char *text, struct lg_conf *c, struct dd_err *err)
{
	struct line_ctx l = { .file = name, .err = err };
	struct seen *seen = calloc(1, sizeof(*seen));
	char *copy_text = strdup(text), *save = NULL, *ln, *eq, *key, *val;
	int rc = DD_OK;

	defaults(c, name);
	if (!seen || !copy_text) {
		rc = dd_fail(err, DD_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	/* strtok_r on "\n" would skip empty lines and miscount: walk the lines by hand */
	for (ln = copy_text; ln && !rc; ln = save) {
		save = strchr(ln, '\n');
		if (save)
			*save++ = 0;
		l.line++;
		if ((eq = strchr(ln, '#')))
			*eq = 0;
		trim(&ln);
		if (!*ln)
			continue;
		eq = strchr(ln, '=');
		if (!eq) {
			rc = bad(&l, "expected 'key = value', got '%s'%s", ln, "");
			break;
		}
		*eq = 0;
		key = ln;
		val = eq + 1;
		trim(&key);
		trim(&val);
		if (!*key)
			rc = bad(&l, "missing key before '='%s%s", "", "");
		else if (!(rc = note_key(&l, seen, key)))
			rc = parse_kv(&l, c, key, val);
	}
	if (!rc)
		rc = check_whole(name, c, err);
out:
	free(seen);
	free(copy_text);
	return rc;
}

int lg_conf_load(const char *path, struct lg_conf *c, struct dd_err *err)
{
	char *text;
	int rc;

	if ((rc = dd_read_text(path, MAX_FILE, "board description", &text, err)))
		return rc;
	rc = lg_conf_parse(path, text, c, err);
	free(text);
	return rc;
}

int lg_conf_slot_of(const struct lg_conf *c, const char *id_path)
{
	for (unsigned i = 0; i < c->n_slots; i++)
		for (unsigned j = 0; j < c->slot[i].n_paths; j++) {
			size_t n = strlen(c->slot[i].path[j]);

			if (!strncmp(id_path, c->slot[i].path[j], n) &&
			    (id_path[n] == 0 || id_path[n] == ':' || id_path[n] == '-'))
				return (int)i;
		}
	return -1;
}

void lg_conf_slot_name(const struct lg_conf *c, unsigned i, char out[DD_LINK_PORT_NAME_MAX + 1])
{
	char label[DD_PORT_PATH_MAX]; /* room for a whole path: a cut one would name another socket */

	out[0] = '\0';
	if (i >= c->n_slots)
		return;
	if (c->slot[i].label[0])
		snprintf(label, sizeof(label), "%s", c->slot[i].label);
	else if (c->slot[i].n_paths)
		dd_port_label(NULL, c->slot[i].path[0], NULL, label, sizeof(label));
	else
		return;
	if (dd_link_port_name_ok(label) && strcmp(label, "-")) /* too long: no name rather than a cut one */
		memcpy(out, label, strlen(label) + 1);
}
