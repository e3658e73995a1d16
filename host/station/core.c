/* host/station/core: slots, counters and decisions of `dartdup station` (see core.h). */
#include "host/station/core.h"

#include <stdio.h>
#include <string.h>

#define BY_PATH "/dev/disk/by-path/"

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* Keeps s->order sorted by label after slot idx was added (insertion: slots only ever get added). */
static void order_add(struct station *s, unsigned idx)
{
	unsigned k = s->n_slots - 1;

	while (k > 0 && dd_port_label_cmp(s->slot[s->order[k - 1]].label, s->slot[idx].label) > 0) {
		s->order[k] = s->order[k - 1];
		k--;
	}
	s->order[k] = idx;
}

static struct station_slot *add_slot(struct station *s, const char *port, const char *label, int map_entry)
{
	struct station_slot *slot = &s->slot[s->n_slots];

	slot->number = s->n_slots + 1;
	slot->map_entry = map_entry;
	copy(slot->port, sizeof(slot->port), port);
	copy(slot->label, sizeof(slot->label), label);
	s->n_slots++;
	order_add(s, s->n_slots - 1);
	return slot;
}

/* Fixed slots are numbered in label order, so "slot 1" is the first line of the view. */
static void number_in_order(struct station *s)
{
	for (unsigned k = 0; k < s->n_slots; k++)
		s->slot[s->order[k]].number = k + 1;
}

void station_init(struct station *s, const char *const *ports, unsigned n_ports, const struct dd_portmap *map)
{
	char label[DD_PORT_LABEL_MAX];

	memset(s, 0, sizeof(*s));
	s->map = map;
	s->fixed = n_ports > 0 || (map && map->n);
	for (unsigned i = 0; i < n_ports && i < STATION_MAX_SLOTS; i++) {
		const char *p = ports[i];

		if (!strncmp(p, BY_PATH, strlen(BY_PATH)))
			p += strlen(BY_PATH);
		dd_port_label(map, p, NULL, label, sizeof(label));
		add_slot(s, p, label, -1);
	}
	for (unsigned i = 0; !n_ports && map && i < map->n && i < STATION_MAX_SLOTS; i++)
		add_slot(s, map->e[i].path[0], map->e[i].name, (int)i);
	number_in_order(s);
}

bool station_port_matches(const char *pattern, const char *id_path)
{
	return dd_port_path_matches(pattern, id_path);
}

static bool slot_has(const struct station *s, const struct station_slot *slot, const char *id_path)
{
	if (slot->map_entry >= 0)
		return dd_portmap_find(s->map, id_path) == slot->map_entry;
	if (s->fixed)
		return station_port_matches(slot->port, id_path);
	return !strcmp(slot->port, id_path);
}

struct station_slot *station_slot_for_port(struct station *s, const char *id_path, const char *usb_name)
{
	char label[DD_PORT_LABEL_MAX];

	if (!id_path || !id_path[0])
		return NULL;
	for (unsigned i = 0; i < s->n_slots; i++)
		if (slot_has(s, &s->slot[i], id_path))
			return &s->slot[i];
	if (s->fixed || s->n_slots == STATION_MAX_SLOTS)
		return NULL;
	dd_port_label(s->map, id_path, usb_name, label, sizeof(label));
	return add_slot(s, id_path, label, -1);
}

struct station_slot *station_slot_of_dev(struct station *s, const char *devnode)
{
	for (unsigned i = 0; i < s->n_slots; i++)
		if (s->slot[i].state != SLOT_EMPTY && !s->slot[i].detached && !s->slot[i].pulled &&
		    !strcmp(s->slot[i].devnode, devnode))
			return &s->slot[i];
	return NULL;
}

bool station_stick_arrived(struct station *s, struct station_slot *slot, const char *devnode,
			   const char *serial, const char *model, uint64_t capacity, double now)
{
	(void)s;
	if (slot->state == SLOT_BUSY)
		return false;
	slot->state = SLOT_BUSY;
	copy(slot->devnode, sizeof(slot->devnode), devnode);
	copy(slot->serial, sizeof(slot->serial), serial);
	copy(slot->model, sizeof(slot->model), model);
	slot->capacity = capacity;
	slot->pulled = false;
	slot->ejecting = false;
	slot->detached = false;
	slot->phase = DD_PHASE_QUEUED;
	slot->progress = 0;
	slot->rate = 0;
	slot->t_start = now;
	slot->t_end = 0;
	slot->outcome = OUT_NONE;
	slot->kind = DD_FAIL_NONE;
	slot->sanitized = false;
	slot->detail[0] = '\0';
	return true;
}

void station_eject_begin(struct station *s, struct station_slot *slot)
{
	(void)s;
	slot->ejecting = true;
}

struct station_slot *station_stick_left(struct station *s, const char *devnode)
{
	struct station_slot *slot = station_slot_of_dev(s, devnode);

	if (!slot)
		return NULL;
	if (slot->ejecting)
		slot->detached = true;
	else if (slot->state == SLOT_BUSY)
		slot->pulled = true;
	else
		slot->state = SLOT_EMPTY;
	return slot;
}

static void count(struct station_counters *c, enum station_outcome out)
{
	switch (out) {
	case OUT_PASS: c->passed++; break;
	case OUT_ALREADY: c->already++; break;
	case OUT_FAIL:
	case OUT_COUNTERFEIT:
	case OUT_PULLED: c->failed++; break;
	case OUT_REFUSED: c->refused++; break;
	case OUT_INCOMPLETE: c->incomplete++; break;
	case OUT_NONE: break;
	}
}

void station_job_done(struct station *s, struct station_slot *slot, enum station_outcome out,
		      const char *detail, double now)
{
	if (slot->pulled && out != OUT_REFUSED && out != OUT_INCOMPLETE)
		out = OUT_PULLED;
	slot->outcome = out;
	copy(slot->detail, sizeof(slot->detail), detail);
	slot->t_end = now;
	slot->phase = DD_PHASE_DONE;
	slot->sticks++;
	/* a pulled stick is gone: the slot is empty and ready; otherwise show the result until it leaves */
	slot->state = slot->pulled ? SLOT_EMPTY : SLOT_DONE;
	count(&s->c, out);
}

enum station_outcome station_outcome_of(enum dd_result r, bool pulled, bool counterfeit, bool interrupted)
{
	if (pulled)
		return OUT_PULLED;
	if (counterfeit)
		return OUT_COUNTERFEIT;
	switch (r) {
	case DD_RESULT_PASS: return OUT_PASS;
	case DD_RESULT_INCOMPLETE: return interrupted ? OUT_INCOMPLETE : OUT_FAIL;
	default: return OUT_FAIL; /* FAIL, NONE, and anything not proven good */
	}
}

enum dd_fail_kind station_outcome_kind(enum station_outcome o, enum dd_fail_kind engine_kind)
{
	switch (o) {
	case OUT_NONE:
	case OUT_PASS:
	case OUT_ALREADY: return DD_FAIL_NONE;
	case OUT_COUNTERFEIT: return DD_FAIL_COUNTERFEIT;
	case OUT_PULLED: return DD_FAIL_PULLED;
	case OUT_INCOMPLETE: return DD_FAIL_INTERRUPTED;
	case OUT_REFUSED: return engine_kind == DD_FAIL_TOO_SMALL ? DD_FAIL_TOO_SMALL : DD_FAIL_REFUSED;
	case OUT_FAIL: break;
	}
	return engine_kind == DD_FAIL_NONE ? DD_FAIL_OTHER : engine_kind;
}

double station_per_hour(const struct station_counters *c, double elapsed)
{
	unsigned n = c->passed + c->already + c->failed;

	if (elapsed < 60)
		return 0;
	return n * 3600.0 / elapsed;
}

const char *station_outcome_name(enum station_outcome o)
{
	switch (o) {
	case OUT_NONE: return "";
	case OUT_PASS: return "pass";
	case OUT_ALREADY: return "already";
	case OUT_FAIL: return "fail";
	case OUT_COUNTERFEIT: return "counterfeit";
	case OUT_PULLED: return "pulled";
	case OUT_REFUSED: return "refused";
	case OUT_INCOMPLETE: return "incomplete";
	}
	return "?";
}

bool station_outcome_good(enum station_outcome o)
{
	return o == OUT_PASS || o == OUT_ALREADY;
}

enum station_action station_first_action(bool block0_matches, bool rewrite, bool touch)
{
	if (rewrite || touch || !block0_matches)
		return ACT_WRITE;
	return ACT_VERIFY;
}

enum station_action station_after_verify(enum dd_result verify_result)
{
	return verify_result == DD_RESULT_PASS ? ACT_KEEP : ACT_WRITE;
}
