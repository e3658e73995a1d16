/* dartdup report: HTML (inline CSS + SVG) and CSV from the aggregated figures (render.h). */
#include "host/report/render.h"
#include "util/escape.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#define W 900        /* chart width, px */
#define LABEL_W 260  /* room for row labels of horizontal bar charts */
#define ROW_H 18

void rep_html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

void rep_csv_cell(FILE *f, const char *s)
{
	fputc('"', f);
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r')
		fputc('\'', f); /* a spreadsheet would read it as a formula */
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void hour_label(char *out, size_t cap, int64_t hour)
{
	time_t t = (time_t)(hour * 3600);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:00Z", &tm);
}

static uint64_t port_total(const struct rep_port *p)
{
	uint64_t n = 0;

	for (int r = 0; r < REP_RESULTS; r++)
		n += p->by_result[r];
	return n;
}

static unsigned ports_shown(const struct rep_agg *a)
{
	return a->n_ports + rep_agg_ports_other(a);
}

static const struct rep_port *port_at(const struct rep_agg *a, unsigned i)
{
	return i < a->n_ports ? &a->ports[i] : &a->ports[REP_MAX_PORTS];
}

static unsigned models_shown(const struct rep_agg *a)
{
	return a->n_models + rep_agg_models_other(a);
}

static const struct rep_model *model_at(const struct rep_agg *a, unsigned i)
{
	return i < a->n_models ? &a->models[i] : &a->models[REP_MAX_MODELS];
}

/* ---------------------------------------------------------------- HTML */

static const char CSS[] =
	"body{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:960px}"
	"h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}"
	"td:first-child,th:first-child{text-align:left}"
	"svg{display:block;margin:8px 0}svg text{font:12px sans-serif;fill:#222}"
	".pass{fill:#2e7d32}.fail{fill:#c62828}.rest{fill:#9e9e9e}.bar{fill:#1565c0}.cf{fill:#6a1b9a}"
	".suspect{fill:#c62828;font-weight:bold}.heat{fill:#1565c0}.note{color:#666}"
	".bad{color:#c62828}";

static void head(FILE *f, const struct rep_meta *m)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      /* nothing from the network, no script, even if an escape were ever missed */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
	      "<title>dartdup report</title>\n<style>", f);
	fputs(CSS, f);
	fputs("</style></head>\n<body>\n<h1>dartdup report</h1>\n<p class=\"note\">made ", f);
	rep_html_text(f, m->generated);
	fputs(" from", f);
	for (unsigned i = 0; i < m->n_files; i++) {
		char clean[512];

		rep_clean(clean, sizeof(clean), m->files[i], strlen(m->files[i]));
		fputs(i ? ", " : " ", f);
		rep_html_text(f, clean);
	}
	fputs("</p>\n", f);
}

static void summary(FILE *f, const struct rep_agg *a)
{
	fprintf(f, "<h2 id=\"summary\">Summary</h2>\n<table>\n<tr><td>records</td><td>%" PRIu64 "</td></tr>\n",
		a->records);
	for (int r = 0; r < REP_RESULTS; r++)
		fprintf(f, "<tr><td>%s</td><td>%" PRIu64 "</td></tr>\n", rep_result_names[r], a->by_result[r]);
	fprintf(f, "<tr><td%s>damaged lines</td><td>%" PRIu64 "</td></tr>\n</table>\n",
		a->damaged ? " class=\"bad\"" : "", a->damaged);
}

/* A row label in a chart: cut (between characters) so it stays left of the bars; tables show it whole. */
static void chart_label(FILE *f, const char *s)
{
	char cut[40];
	size_t n = 0;

	while (s[n]) {
		size_t k = dd_utf8_seq(s + n, strlen(s + n), NULL);

		if (!k || n + k > sizeof(cut) - 4)
			break;
		n += k;
	}
	memcpy(cut, s, n);
	strcpy(cut + n, s[n] ? "..." : "");
	rep_html_text(f, cut);
}

/* One horizontal bar chart row: label, then stacked parts pass/fail/rest (rest may be 0). */
static void hbar_row(FILE *f, unsigned row, const char *label, const uint64_t part[3], const char *const cls[3],
		     uint64_t max, const char *extra, bool suspect)
{
	double x = LABEL_W, scale = max ? (double)(W - LABEL_W - 240) / (double)max : 0;
	unsigned y = row * ROW_H;
	uint64_t total = part[0] + part[1] + part[2];

	fprintf(f, "<text x=\"%d\" y=\"%u\" text-anchor=\"end\"%s>", LABEL_W - 6, y + 13,
		suspect ? " class=\"suspect\"" : "");
	chart_label(f, label);
	fputs("</text>", f);
	for (int k = 0; k < 3; k++) {
		double w = (double)part[k] * scale;

		if (!part[k])
			continue;
		fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%u\" width=\"%.1f\" height=\"%d\"><title>%s %" PRIu64
			"</title></rect>", cls[k], x, y + 2, w < 1 ? 1 : w, ROW_H - 4, cls[k], part[k]);
		x += w;
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%u\">%" PRIu64 "%s</text>\n", x + 6, y + 13, total, extra ? extra : "");
}

static void svg_open(FILE *f, const char *id, unsigned h)
{
	fprintf(f, "<svg id=\"%s\" width=\"%d\" height=\"%u\" role=\"img\">\n",
		id, W, h);
}

static void per_hour(FILE *f, const struct rep_agg *a)
{
	const unsigned H = 200, top = 10, base = 170;
	char l0[32], l1[32];
	uint64_t max = 0;
	int64_t span;
	double bw;

	fputs("<h2 id=\"per-hour\">Sticks per hour</h2>\n", f);
	if (!a->n_hours) {
		fputs("<p class=\"note\">no record with a time</p>\n", f);
		return;
	}
	for (unsigned i = 0; i < a->n_hours; i++)
		if (a->hours[i].total > max)
			max = a->hours[i].total;
	span = a->hours[a->n_hours - 1].hour - a->hours[0].hour + 1;
	bw = (double)(W - 60) / (double)span;
	svg_open(f, "chart-per-hour", H);
	fprintf(f, "<text x=\"0\" y=\"%u\">%" PRIu64 "</text>", top + 10, max);
	for (unsigned i = 0; i < a->n_hours; i++) {
		const struct rep_hour *h = &a->hours[i];
		double x = 50 + (double)(h->hour - a->hours[0].hour) * bw;
		double hp = (double)h->pass * (base - top) / (double)max;
		double hn = (double)(h->total - h->pass) * (base - top) / (double)max;
		char lab[32];

		hour_label(lab, sizeof(lab), h->hour);
		fprintf(f, "<g><title>%s: %" PRIu64 " sticks, %" PRIu64 " passed</title>"
			"<rect class=\"pass\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
			"<rect class=\"fail\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></g>\n",
			lab, h->total, h->pass, x, base - hp, bw > 2 ? bw - 1 : bw, hp, x, base - hp - hn,
			bw > 2 ? bw - 1 : bw, hn);
	}
	hour_label(l0, sizeof(l0), a->hours[0].hour);
	hour_label(l1, sizeof(l1), a->hours[a->n_hours - 1].hour);
	fprintf(f, "<line x1=\"50\" y1=\"%u\" x2=\"%d\" y2=\"%u\" stroke=\"#888\"/>"
		"<text x=\"50\" y=\"%u\">%s</text><text x=\"%d\" y=\"%u\" text-anchor=\"end\">%s</text>\n</svg>\n",
		base, W - 10, base, base + 18, l0, W - 10, base + 18, l1);
	fputs("<p class=\"note\">green: passed, red: not passed (failed, refused, stopped...)</p>\n", f);
	if (a->no_time || a->hours_dropped)
		fprintf(f, "<p class=\"note\">not shown: %" PRIu64 " records without a time, %" PRIu64
			" beyond %d hours</p>\n", a->no_time, a->hours_dropped, REP_MAX_HOURS);
}

static void by_port(FILE *f, const struct rep_agg *a)
{
	static const char *const cls[3] = { "pass", "fail", "rest" };
	uint64_t max = 0, all = 0, fails = 0;
	unsigned n = ports_shown(a);

	fputs("<h2 id=\"by-port\">Pass and fail by port</h2>\n", f);
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = port_total(port_at(a, i));

		max = t > max ? t : max;
		all += t;
		fails += port_at(a, i)->by_result[REP_FAIL];
	}
	svg_open(f, "chart-by-port", n * ROW_H + 4);
	for (unsigned i = 0; i < n; i++) {
		const struct rep_port *p = port_at(a, i);
		uint64_t t = port_total(p), part[3] = { p->by_result[REP_PASS], p->by_result[REP_FAIL], 0 };
		char extra[64];
		/* a socket that fails far more often than the others: worth a look */
		bool suspect = p->by_result[REP_FAIL] >= 2 && p->by_result[REP_FAIL] * all > 2 * fails * t;

		part[2] = t - part[0] - part[1];
		snprintf(extra, sizeof(extra), " (%" PRIu64 " failed, %.0f%%)%s", part[1],
			 t ? 100.0 * (double)part[1] / (double)t : 0.0, suspect ? " check this port" : "");
		hbar_row(f, i, p->name, part, cls, max, extra, suspect);
	}
	fputs("</svg>\n<p class=\"note\">green: passed, red: failed, grey: other results; a port in red failed at more"
	      " than twice the average rate</p>\n", f);
}

static void kinds(FILE *f, const struct rep_agg *a)
{
	static const char *const cls[3] = { "fail", "rest", "rest" };
	uint64_t max = 0;
	unsigned row = 0;

	fputs("<h2 id=\"kinds\">Failure kinds</h2>\n", f);
	for (int k = 0; k < REP_KINDS; k++)
		max = a->by_kind[k] > max ? a->by_kind[k] : max;
	if (!max) {
		fputs("<p class=\"note\">no failure</p>\n", f);
		return;
	}
	svg_open(f, "chart-kinds", REP_KINDS * ROW_H + 4);
	for (int k = 0; k < REP_KINDS; k++) {
		uint64_t part[3] = { a->by_kind[k], 0, 0 };

		hbar_row(f, row++, rep_kind_names[k], part, cls, max, NULL, false);
	}
	fputs("</svg>\n", f);
}

static void speed_table(FILE *f, const struct rep_agg *a, bool verify)
{
	unsigned n = models_shown(a), cw = (W - LABEL_W - 10) / REP_SPEED_BINS;
	const char *id = verify ? "chart-verify-speed" : "chart-write-speed";

	fprintf(f, "<h2 id=\"%s\">%s speed by vendor and model (MB/s)</h2>\n", id + 6, verify ? "Verify" : "Write");
	svg_open(f, id, (n + 1) * ROW_H + 24);
	for (unsigned b = 0; b < REP_SPEED_BINS; b++) {
		char lab[32];

		fprintf(f, "<text x=\"%u\" y=\"14\" text-anchor=\"middle\">%s</text>", LABEL_W + b * cw + cw / 2,
			rep_speed_label(lab, sizeof(lab), b));
	}
	fputc('\n', f);
	for (unsigned i = 0; i < n; i++) {
		const struct rep_model *m = model_at(a, i);
		const struct rep_speed *s = verify ? &m->verify : &m->write;
		unsigned y = 20 + i * ROW_H;
		uint64_t max = 0;

		for (unsigned b = 0; b < REP_SPEED_BINS; b++)
			max = s->bins[b] > max ? s->bins[b] : max;
		fprintf(f, "<text x=\"%d\" y=\"%u\" text-anchor=\"end\">", LABEL_W - 6, y + 13);
		chart_label(f, m->name);
		fputs("</text>", f);
		for (unsigned b = 0; b < REP_SPEED_BINS; b++) {
			if (!s->bins[b])
				continue;
			fprintf(f, "<rect class=\"heat\" x=\"%u\" y=\"%u\" width=\"%u\" height=\"%d\" fill-opacity=\"%.2f\">"
				"<title>%" PRIu64 "</title></rect><text x=\"%u\" y=\"%u\" text-anchor=\"middle\">%" PRIu64
				"</text>", LABEL_W + b * cw, y + 1, cw - 2, ROW_H - 2,
				0.15 + 0.6 * (double)s->bins[b] / (double)max, s->bins[b], LABEL_W + b * cw + cw / 2,
				y + 13, s->bins[b]);
		}
		fputc('\n', f);
	}
	fputs("</svg>\n<table><tr><th>vendor and model</th><th>sticks timed</th><th>mean</th><th>min</th><th>max</th></tr>\n",
	      f);
	for (unsigned i = 0; i < n; i++) {
		const struct rep_model *m = model_at(a, i);
		const struct rep_speed *s = verify ? &m->verify : &m->write;

		fputs("<tr><td>", f);
		rep_html_text(f, m->name);
		if (s->n)
			fprintf(f, "</td><td>%" PRIu64 "</td><td>%.1f</td><td>%.1f</td><td>%.1f</td></tr>\n", s->n,
				s->sum / (double)s->n, s->min, s->max);
		else
			fputs("</td><td>0</td><td></td><td></td><td></td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void counterfeits(FILE *f, const struct rep_agg *a)
{
	static const char *const cls[3] = { "cf", "rest", "rest" };
	unsigned n = models_shown(a), row = 0;
	uint64_t max = 0;

	fputs("<h2 id=\"counterfeit\">Counterfeit sticks by model</h2>\n", f);
	for (unsigned i = 0; i < n; i++) {
		const struct rep_model *m = model_at(a, i);

		max = m->counterfeit > max ? m->counterfeit : max;
		row += m->counterfeit > 0;
	}
	if (!max) {
		fputs("<p class=\"note\">none found (only `--probe` runs look for them)</p>\n", f);
		return;
	}
	svg_open(f, "chart-counterfeit", row * ROW_H + 4);
	row = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct rep_model *m = model_at(a, i);
		uint64_t part[3] = { m->counterfeit, 0, 0 };
		char extra[64];

		if (!m->counterfeit)
			continue;
		snprintf(extra, sizeof(extra), " of %" PRIu64 " sticks", m->sticks);
		hbar_row(f, row++, m->name, part, cls, max, extra, false);
	}
	fputs("</svg>\n", f);
}

static void offsets(FILE *f, const struct rep_agg *a)
{
	const unsigned base = 170;
	int lo = -1, hi = -1;
	uint64_t max = 0;
	double bw;

	fputs("<h2 id=\"first-bad-offset\">Where sticks first went bad (first bad offset)</h2>\n", f);
	for (int b = 0; b < REP_OFFSET_BINS; b++) {
		if (!a->offsets[b])
			continue;
		lo = lo < 0 ? b : lo;
		hi = b;
		max = a->offsets[b] > max ? a->offsets[b] : max;
	}
	if (lo < 0) {
		fputs("<p class=\"note\">no record with a first bad offset</p>\n", f);
		return;
	}
	bw = (double)(W - 20) / (hi - lo + 1);
	svg_open(f, "chart-first-bad-offset", 220);
	for (int b = lo; b <= hi; b++) {
		double x = 10 + (b - lo) * bw, h = (double)a->offsets[b] * (base - 20) / (double)max;
		char lab[48];

		rep_offset_label(lab, sizeof(lab), (unsigned)b);
		fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%s: %" PRIu64
			"</title></rect><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%" PRIu64 "</text>"
			"<text x=\"%.1f\" y=\"%u\" text-anchor=\"middle\">%s</text>\n",
			x, base - h, bw - 4, h, lab, a->offsets[b], x + bw / 2 - 2, base - h - 3, a->offsets[b],
			x + bw / 2 - 2, base + 16 + 14 * ((b - lo) % 2), a->offsets[b] ? lab : "");
	}
	fputs("</svg>\n", f);
}

static void damaged(FILE *f, const struct rep_agg *a)
{
	if (!a->damaged)
		return;
	fprintf(f, "<h2 id=\"damaged\">Damaged lines: %" PRIu64 "</h2>\n<table><tr><th>file</th><th>line</th>"
		"<th>problem</th></tr>\n", a->damaged);
	for (unsigned i = 0; i < a->n_damaged_shown; i++) {
		fputs("<tr><td>", f);
		rep_html_text(f, a->damaged_shown[i].file);
		fprintf(f, "</td><td>%" PRIu64 "</td><td>", a->damaged_shown[i].line);
		rep_html_text(f, a->damaged_shown[i].why);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	if (a->damaged > a->n_damaged_shown)
		fprintf(f, "<p class=\"note\">and %" PRIu64 " more</p>\n", a->damaged - a->n_damaged_shown);
}

int rep_write_html(FILE *f, const struct rep_agg *a, const struct rep_meta *m)
{
	head(f, m);
	summary(f, a);
	per_hour(f, a);
	by_port(f, a);
	kinds(f, a);
	speed_table(f, a, false);
	speed_table(f, a, true);
	counterfeits(f, a);
	offsets(f, a);
	damaged(f, a);
	fputs("</body></html>\n", f);
	return ferror(f) ? -1 : 0;
}

/* ---------------------------------------------------------------- CSV */

static void csv_row(FILE *f, const char *figure, const char *group, const char *item, uint64_t v)
{
	rep_csv_cell(f, figure);
	fputc(',', f);
	rep_csv_cell(f, group);
	fputc(',', f);
	rep_csv_cell(f, item);
	fprintf(f, ",%" PRIu64 "\r\n", v);
}

static void csv_row_f(FILE *f, const char *figure, const char *group, const char *item, double v)
{
	rep_csv_cell(f, figure);
	fputc(',', f);
	rep_csv_cell(f, group);
	fputc(',', f);
	rep_csv_cell(f, item);
	fprintf(f, ",%.1f\r\n", v);
}

static void csv_speed(FILE *f, const char *fig, const char *fig_bin, const struct rep_model *m,
		      const struct rep_speed *s)
{
	char lab[32];

	csv_row(f, fig, m->name, "sticks timed", s->n);
	if (s->n) {
		csv_row_f(f, fig, m->name, "mean MB/s", s->sum / (double)s->n);
		csv_row_f(f, fig, m->name, "min MB/s", s->min);
		csv_row_f(f, fig, m->name, "max MB/s", s->max);
	}
	for (unsigned b = 0; b < REP_SPEED_BINS; b++)
		csv_row(f, fig_bin, m->name, rep_speed_label(lab, sizeof(lab), b), s->bins[b]);
}

int rep_write_csv(FILE *f, const struct rep_agg *a, const struct rep_meta *m)
{
	char lab[48];

	fputs("\xef\xbb\xbf\"figure\",\"group\",\"item\",\"value\"\r\n", f);
	csv_row(f, "summary", "", "files", m->n_files);
	csv_row(f, "summary", "", "records", a->records);
	csv_row(f, "summary", "", "damaged lines", a->damaged);
	for (int r = 0; r < REP_RESULTS; r++)
		csv_row(f, "result", "", rep_result_names[r], a->by_result[r]);
	for (int k = 0; k < REP_KINDS; k++)
		csv_row(f, "kind", "", rep_kind_names[k], a->by_kind[k]);
	for (unsigned i = 0; i < a->n_hours; i++) {
		hour_label(lab, sizeof(lab), a->hours[i].hour);
		csv_row(f, "per hour", lab, "sticks", a->hours[i].total);
		csv_row(f, "per hour", lab, "pass", a->hours[i].pass);
	}
	for (unsigned i = 0; i < ports_shown(a); i++)
		for (int r = 0; r < REP_RESULTS; r++)
			csv_row(f, "port", port_at(a, i)->name, rep_result_names[r], port_at(a, i)->by_result[r]);
	for (unsigned i = 0; i < models_shown(a); i++) {
		const struct rep_model *md = model_at(a, i);

		csv_row(f, "model", md->name, "sticks", md->sticks);
		csv_row(f, "model", md->name, "pass", md->pass);
		csv_row(f, "model", md->name, "fail", md->fail);
		csv_row(f, "model", md->name, "counterfeit", md->counterfeit);
		csv_speed(f, "write speed", "write speed bin MB/s", md, &md->write);
		csv_speed(f, "verify speed", "verify speed bin MB/s", md, &md->verify);
	}
	for (unsigned b = 0; b < REP_OFFSET_BINS; b++)
		csv_row(f, "first bad offset", "", rep_offset_label(lab, sizeof(lab), b), a->offsets[b]);
	for (unsigned i = 0; i < a->n_damaged_shown; i++) {
		const struct rep_damaged *d = &a->damaged_shown[i];

		rep_csv_cell(f, "damaged line");
		fputc(',', f);
		rep_csv_cell(f, d->file);
		fputc(',', f);
		rep_csv_cell(f, d->why);
		fprintf(f, ",%" PRIu64 "\r\n", d->line);
	}
	return ferror(f) ? -1 : 0;
}
