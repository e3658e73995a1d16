/* Prometheus textfile metrics (see metrics.h). */
#include "host/fleet/metrics.h"

#include <inttypes.h>
#include <string.h>

static const char *const results[METRICS_N_RESULTS] = {
	"pass", "fail", "incomplete", "written", "refused", "skipped", "other",
};
static const char *const kinds[METRICS_N_KINDS] = {
	"none", "io", "mismatch", "counterfeit", "too_small", "refused", "pulled", "interrupted", "image", "other",
};
static const char *const port_states[METRICS_N_PORT_STATES] = {
	"empty", "ready", "busy", "verifying", "pass", "fail", "attention", "other",
};
/* upper bounds in bytes per second: USB 1.1 sticks to USB 3 SSDs */
static const double bounds[METRICS_N_BUCKETS - 1] = {
	1e6, 2e6, 5e6, 10e6, 20e6, 50e6, 100e6, 200e6, 500e6, 1e9,
};

/* The index of s in the word list; the last ("other") for anything else. NULL: the first. */
static unsigned word_index(const char *const *words, unsigned n, const char *s)
{
	if (!s)
		return 0;
	for (unsigned i = 0; i + 1 < n; i++)
		if (!strcmp(words[i], s))
			return i;
	return n - 1;
}

/* A label value from a stick's or board's string: printable ASCII only, no quote or backslash (the
 * exposition format's escapes, and what a terminal showing the file could act on), at most
 * METRICS_LABEL_MAX - 1 bytes; "" becomes "unknown". */
static void label_copy(char *dst, const char *src)
{
	size_t n = 0;

	for (; src && src[n] && n + 1 < METRICS_LABEL_MAX; n++) {
		unsigned char c = (unsigned char)src[n];

		dst[n] = c < 0x20 || c > 0x7e || c == '"' || c == '\\' ? '_' : (char)c;
	}
	dst[n] = '\0';
	if (!n)
		strcpy(dst, "unknown");
}

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->port[METRICS_MAX_PORTS].label[0], "other");
	strcpy(m->model[METRICS_MAX_MODELS].label[0], "other");
	strcpy(m->model[METRICS_MAX_MODELS].label[1], "other");
}

/* The series of (a, b): its own while there is room, else the "other" one at index max. */
static struct metrics_series *series_of(struct metrics_series *tab, unsigned *n, unsigned max, bool two,
					const char *a, const char *b)
{
	char la[METRICS_LABEL_MAX], lb[METRICS_LABEL_MAX] = "";

	label_copy(la, a);
	if (two)
		label_copy(lb, b);
	for (unsigned i = 0; i < *n; i++)
		if (!strcmp(tab[i].label[0], la) && !strcmp(tab[i].label[1], lb))
			return &tab[i];
	if (*n == max)
		return &tab[max];
	memcpy(tab[*n].label[0], la, sizeof(la));
	memcpy(tab[*n].label[1], lb, sizeof(lb));
	return &tab[(*n)++];
}

static void observe(struct metrics_hist *h, uint64_t bytes, double seconds)
{
	double v;
	unsigned i = 0;

	if (!bytes || !(seconds > 0))
		return;
	v = (double)bytes / seconds;
	while (i < METRICS_N_BUCKETS - 1 && v > bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

void metrics_add_stick(struct metrics *m, const struct metrics_stick *s)
{
	unsigned r = word_index(results, METRICS_N_RESULTS, s->result);
	unsigned k = word_index(kinds, METRICS_N_KINDS, s->kind);
	bool counterfeit = k == 3;
	struct metrics_series *p, *md;

	m->sticks[r][k]++;
	p = series_of(m->port, &m->n_ports, METRICS_MAX_PORTS, false, s->port, NULL);
	p->result[r]++;
	p->counterfeit += counterfeit;
	md = series_of(m->model, &m->n_models, METRICS_MAX_MODELS, true, s->vendor, s->model);
	md->result[r]++;
	md->counterfeit += counterfeit;
	m->bytes_written += s->bytes_written;
	m->bytes_verified += s->bytes_verified;
	observe(&m->write_speed, s->bytes_written, s->write_seconds);
	observe(&m->verify_speed, s->bytes_verified, s->verify_seconds);
	if (counterfeit)
		m->probe_counterfeit++;
	else if (s->probed && (r == 0 || r == 3)) /* probed and written to the end: it holds what it says */
		m->probe_genuine++;
}

void metrics_set_image(struct metrics *m, const char *id_hex, const char *name)
{
	m->have_image = true;
	label_copy(m->image_name, name);
	if (!id_hex || strlen(id_hex) != 64 || strspn(id_hex, "0123456789abcdef") != 64)
		id_hex = "unknown"; /* ours (dd_hex), so never; a label stays a label */
	memcpy(m->image_id, id_hex, strlen(id_hex) + 1);
}

void metrics_set_board(struct metrics *m, const char *serial, bool up, const char *const *states, unsigned n)
{
	char l[METRICS_LABEL_MAX];
	struct metrics_board *b = NULL;

	label_copy(l, serial);
	for (unsigned i = 0; i < m->n_boards && !b; i++)
		if (!strcmp(m->board[i].serial, l))
			b = &m->board[i];
	if (!b) {
		if (m->n_boards == METRICS_MAX_BOARDS)
			return; /* a depot with more boards on one PC runs more PCs (docs/FLEET.md) */
		b = &m->board[m->n_boards++];
		memcpy(b->serial, l, sizeof(l));
	}
	b->up = up;
	memset(b->ports, 0, sizeof(b->ports));
	for (unsigned i = 0; up && i < n; i++)
		b->ports[word_index(port_states, METRICS_N_PORT_STATES, states[i])]++;
}

/* ---- formatting ---------------------------------------------------------------------------- */

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void series_counters(FILE *f, const char *name, const struct metrics_series *tab, unsigned n,
			    const struct metrics_series *other, bool two_labels, const char *l0, const char *l1)
{
	for (unsigned i = 0; i <= n; i++) {
		const struct metrics_series *s = i < n ? &tab[i] : other;

		for (unsigned r = 0; r < METRICS_N_RESULTS; r++) {
			if (!s->result[r])
				continue;
			if (two_labels)
				fprintf(f, "%s{%s=\"%s\",%s=\"%s\",result=\"%s\"} %" PRIu64 "\n", name, l0, s->label[0], l1,
					s->label[1], results[r], s->result[r]);
			else
				fprintf(f, "%s{%s=\"%s\",result=\"%s\"} %" PRIu64 "\n", name, l0, s->label[0], results[r],
					s->result[r]);
		}
	}
}

static void histogram(FILE *f, const char *name, const char *help, const struct metrics_hist *h)
{
	uint64_t cum = 0;

	head(f, name, "histogram", help);
	for (unsigned i = 0; i < METRICS_N_BUCKETS; i++) {
		cum += h->bucket[i];
		if (i < METRICS_N_BUCKETS - 1)
			fprintf(f, "%s_bucket{le=\"%.0f\"} %" PRIu64 "\n", name, bounds[i], cum);
		else
			fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	}
	fprintf(f, "%s_sum %.0f\n%s_count %" PRIu64 "\n", name, h->sum, name, h->count);
}

static void sticks(FILE *f, const struct metrics *m)
{
	head(f, "dartdup_sticks_total", "counter", "Sticks finished, by result and failure kind (docs/EVENTS.md).");
	for (unsigned r = 0; r < METRICS_N_RESULTS; r++)
		for (unsigned k = 0; k < METRICS_N_KINDS; k++)
			if (m->sticks[r][k] || (k == 0 && r < 2)) /* pass and fail always: a rate needs a zero */
				fprintf(f, "dartdup_sticks_total{result=\"%s\",kind=\"%s\"} %" PRIu64 "\n", results[r],
					kinds[k], m->sticks[r][k]);
	head(f, "dartdup_port_sticks_total", "counter", "Sticks finished, by port and result.");
	series_counters(f, "dartdup_port_sticks_total", m->port, m->n_ports, &m->port[METRICS_MAX_PORTS], false,
			"port", NULL);
	head(f, "dartdup_model_sticks_total", "counter", "Sticks finished, by vendor, model and result.");
	series_counters(f, "dartdup_model_sticks_total", m->model, m->n_models, &m->model[METRICS_MAX_MODELS], true,
			"vendor", "model");
	head(f, "dartdup_model_counterfeit_total", "counter", "Counterfeit sticks found, by vendor and model.");
	for (unsigned i = 0; i <= m->n_models; i++) {
		const struct metrics_series *s = i < m->n_models ? &m->model[i] : &m->model[METRICS_MAX_MODELS];

		if (s->counterfeit)
			fprintf(f, "dartdup_model_counterfeit_total{vendor=\"%s\",model=\"%s\"} %" PRIu64 "\n",
				s->label[0], s->label[1], s->counterfeit);
	}
}

static void boards(FILE *f, const struct metrics *m)
{
	if (!m->n_boards)
		return;
	head(f, "dartdup_board_up", "gauge", "1 when the board answered over its link at the last look, else 0.");
	for (unsigned i = 0; i < m->n_boards; i++)
		fprintf(f, "dartdup_board_up{board=\"%s\"} %d\n", m->board[i].serial, m->board[i].up);
	head(f, "dartdup_board_ports", "gauge", "The board's ports, by state (docs/EVENTS.md).");
	for (unsigned i = 0; i < m->n_boards; i++)
		for (unsigned s = 0; s < METRICS_N_PORT_STATES; s++)
			if (m->board[i].ports[s])
				fprintf(f, "dartdup_board_ports{board=\"%s\",state=\"%s\"} %u\n", m->board[i].serial,
					port_states[s], m->board[i].ports[s]);
}

int metrics_format(const struct metrics *m, FILE *f)
{
	sticks(f, m);
	head(f, "dartdup_written_bytes_total", "counter", "Bytes written to sticks.");
	fprintf(f, "dartdup_written_bytes_total %" PRIu64 "\n", m->bytes_written);
	head(f, "dartdup_verified_bytes_total", "counter", "Bytes read back from sticks and compared.");
	fprintf(f, "dartdup_verified_bytes_total %" PRIu64 "\n", m->bytes_verified);
	histogram(f, "dartdup_write_speed_bytes_per_second", "A stick's write phase: bytes written per second.",
		  &m->write_speed);
	histogram(f, "dartdup_verify_speed_bytes_per_second", "A stick's verification: bytes read back per second.",
		  &m->verify_speed);
	head(f, "dartdup_probe_verdicts_total", "counter", "Counterfeit-capacity probes, by verdict.");
	fprintf(f, "dartdup_probe_verdicts_total{verdict=\"genuine\"} %" PRIu64 "\n", m->probe_genuine);
	fprintf(f, "dartdup_probe_verdicts_total{verdict=\"counterfeit\"} %" PRIu64 "\n", m->probe_counterfeit);
	if (m->have_image) {
		head(f, "dartdup_image_info", "gauge", "The image in use (always 1).");
		fprintf(f, "dartdup_image_info{image_id=\"%s\",image_name=\"%s\"} 1\n", m->image_id, m->image_name);
	}
	boards(f, m);
	head(f, "dartdup_metrics_updated_timestamp_seconds", "gauge", "When dartdup last wrote this file.");
	fprintf(f, "dartdup_metrics_updated_timestamp_seconds %.0f\n", m->updated);
	return ferror(f) ? -1 : 0;
}
