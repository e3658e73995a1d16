/* Port maps: names for USB sockets, one parser for the station and the board (portmap.h). */
#include "util/portmap.h"
#include "util/file.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "port."
#define BY_PATH "/dev/disk/by-path/"
#define MAX_FILE (64 * 1024)

void dd_portmap_init(struct dd_portmap *m, const char *file)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->file, sizeof(m->file), "%s", file ? file : "port map");
}

bool dd_portmap_key(const char *key)
{
	return !strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX));
}

static int bad(const struct dd_portmap *m, unsigned line, struct dd_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad(const struct dd_portmap *m, unsigned line, struct dd_err *err, const char *fmt, ...)
{
	char what[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return dd_fail(err, DD_EINPUT, "%s:%u: %s", m->file, line, what);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= DD_PORT_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/* udev's ID_PATH alphabet; "usb-" says it leads to a USB port */
static bool valid_path(const char *p)
{
	if (!strstr(p, "usb-") || strlen(p) >= DD_PORT_PATH_MAX)
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(":.-_", *p))
			return false;
	return true;
}

/* The entry and path index already holding path, or false. */
static bool path_used(const struct dd_portmap *m, const char *path, const char **by)
{
	for (unsigned i = 0; i < m->n; i++)
		for (unsigned j = 0; j < m->e[i].n_paths; j++)
			if (!strcmp(m->e[i].path[j], path)) {
				*by = m->e[i].name;
				return true;
			}
	return false;
}

static int add_path(struct dd_portmap *m, unsigned line, struct dd_portmap_entry *e, const char *tok,
		    struct dd_err *err)
{
	const char *by;

	if (!strncmp(tok, BY_PATH, strlen(BY_PATH)))
		tok += strlen(BY_PATH);
	if (!valid_path(tok))
		return bad(m, line, err, "port.%s: '%.160s' is not a USB port path (udev ID_PATH up to the port, "
			   "e.g. pci-0000:00:14.0-usb-0:1.4)", e->name, tok);
	for (unsigned j = 0; j < e->n_paths; j++)
		if (!strcmp(e->path[j], tok))
			return bad(m, line, err, "port.%s: path %s given twice", e->name, tok);
	if (path_used(m, tok, &by))
		return bad(m, line, err, "port.%s: path %s already names port.%s", e->name, tok, by);
	if (e->n_paths == DD_PORTMAP_PATHS)
		return bad(m, line, err, "port.%s: at most %d paths per port", e->name, DD_PORTMAP_PATHS);
	snprintf(e->path[e->n_paths++], DD_PORT_PATH_MAX, "%s", tok);
	return DD_OK;
}

int dd_portmap_line(struct dd_portmap *m, unsigned line, const char *key, const char *value, struct dd_err *err)
{
	const char *name = key + strlen(KEY_PREFIX);
	struct dd_portmap_entry *e;
	char words[512], *save = NULL;
	int rc = DD_OK;

	if (!dd_portmap_key(key))
		return bad(m, line, err, "unknown key '%.64s' (a port map has only 'port.NAME = PATH' lines)", key);
	if (!valid_name(name))
		return bad(m, line, err, "port name '%.64s': 1 to 15 letters, digits, '-' or '_'", name);
	for (unsigned i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].name, name))
			return bad(m, line, err, "port.%s given twice (first on line %u)", name, m->e[i].line);
	if (m->n == DD_PORTMAP_MAX)
		return bad(m, line, err, "port.%s: at most %d ports in a map", name, DD_PORTMAP_MAX);
	if (strlen(value) >= sizeof(words))
		return bad(m, line, err, "port.%s: line too long", name);
	e = &m->e[m->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->line = line;
	snprintf(words, sizeof(words), "%s", value);
	for (char *t = strtok_r(words, " \t", &save); t && !rc; t = strtok_r(NULL, " \t", &save))
		rc = add_path(m, line, e, t, err);
	if (rc)
		return rc;
	if (!e->n_paths)
		return bad(m, line, err, "port.%s: no port path", name);
	m->n++;
	return DD_OK;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int dd_portmap_parse(struct dd_portmap *m, const char *name, const char *text, struct dd_err *err)
{
	char *copy = strdup(text), *ln, *next, *eq;
	unsigned line = 0;
	int rc = DD_OK;

	dd_portmap_init(m, name);
	if (!copy)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", m->file);
	/* by hand, not strtok: empty lines count */
	for (ln = copy; ln && !rc; ln = next) {
		next = strchr(ln, '\n');
		if (next)
			*next++ = '\0';
		line++;
		if ((eq = strchr(ln, '#')))
			*eq = '\0';
		ln = trim(ln);
		if (!*ln)
			continue;
		if (!(eq = strchr(ln, '='))) {
			rc = bad(m, line, err, "expected 'port.NAME = PATH', got '%.64s'", ln);
			break;
		}
		*eq = '\0';
		rc = dd_portmap_line(m, line, trim(ln), trim(eq + 1), err);
	}
	free(copy);
	return rc;
}

int dd_portmap_load(struct dd_portmap *m, const char *path, struct dd_err *err)
{
	char *text;
	int rc;

	dd_portmap_init(m, path);
	if ((rc = dd_read_text(path, MAX_FILE, "port map", &text, err)))
		return rc;
	rc = dd_portmap_parse(m, path, text, err);
	free(text);
	return rc;
}

bool dd_port_path_matches(const char *pattern, const char *id_path)
{
	size_t n;

	if (!pattern || !id_path)
		return false;
	if (!strncmp(pattern, BY_PATH, strlen(BY_PATH)))
		pattern += strlen(BY_PATH);
	n = strlen(pattern);
	if (!n || strncmp(pattern, id_path, n))
		return false;
	return id_path[n] == '\0' || strchr("-:.", id_path[n]);
}

int dd_portmap_find(const struct dd_portmap *m, const char *id_path)
{
	size_t best_len = 0;
	int best = -1;

	if (!m || !id_path || !id_path[0])
		return -1;
	for (unsigned i = 0; i < m->n; i++)
		for (unsigned j = 0; j < m->e[i].n_paths; j++) {
			size_t n = strlen(m->e[i].path[j]);

			if (n > best_len && dd_port_path_matches(m->e[i].path[j], id_path)) {
				best = (int)i;
				best_len = n;
			}
		}
	return best;
}

/* "usb-0:1.4:1.0-scsi-..." : the port chain after "usb-0:" is digits and dots; the ':' after it starts the
 * interface (config.interface) */
static const char *usb_part(const char *id_path, const char **end)
{
	const char *u = strstr(id_path, "usb-");
	const char *p;

	if (!u)
		return NULL;
	p = strchr(u + 4, ':');
	if (!p)
		return NULL;
	p++;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	*end = p;
	return u;
}

void dd_port_path_of(const char *id_path, char *out, size_t size)
{
	const char *end;
	size_t n;

	if (!size)
		return;
	n = usb_part(id_path, &end) ? (size_t)(end - id_path) : strlen(id_path);
	if (n >= size)
		n = size - 1;
	memcpy(out, id_path, n);
	out[n] = '\0';
}

void dd_port_label(const struct dd_portmap *m, const char *id_path, const char *usb_name, char *out, size_t size)
{
	const char *u, *end;
	int i = dd_portmap_find(m, id_path);

	if (!size)
		return;
	if (i >= 0)
		snprintf(out, size, "%s", m->e[i].name);
	else if (usb_name && usb_name[0])
		snprintf(out, size, "%s", usb_name);
	else if (id_path && (u = usb_part(id_path, &end)))
		snprintf(out, size, "%.*s", (int)(end - u), u);
	else
		snprintf(out, size, "%s", id_path && id_path[0] ? id_path : "-");
}

int dd_port_label_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			const char *x = a, *y = b;

			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			for (x = a; isdigit((unsigned char)*x); x++)
				;
			for (y = b; isdigit((unsigned char)*y); y++)
				;
			if (x - a != y - b)
				return x - a < y - b ? -1 : 1;
			for (; a < x; a++, b++)
				if (*a != *b)
					return *a < *b ? -1 : 1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

size_t dd_portmap_format(const struct dd_portmap *m, char *buf, size_t size)
{
	size_t len = 0;
	int n;

	n = snprintf(buf, size, "# dartdup port map (docs/PORTS.md): port.NAME = the USB port path(s) of that socket\n");
	len += n > 0 ? (size_t)n : 0;
	for (unsigned i = 0; i < m->n; i++) {
		n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0, "port.%s =", m->e[i].name);
		len += n > 0 ? (size_t)n : 0;
		for (unsigned j = 0; j < m->e[i].n_paths; j++) {
			n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0, " %s", m->e[i].path[j]);
			len += n > 0 ? (size_t)n : 0;
		}
		n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0, "\n");
		len += n > 0 ? (size_t)n : 0;
	}
	return len;
}
