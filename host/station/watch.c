/* The udev watcher (see station.h): block disks that appear on a watched port become jobs, disks that
 * leave are marked pulled (their job stops at its next block), finished jobs are reaped. */
#include "host/station/station.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct job *job_of_dev(struct ctx *c, const char *devnode)
{
	for (struct job *j = c->jobs; j; j = j->next)
		if (!j->done && !j->slot->pulled && !strcmp(j->devnode, devnode))
			return j;
	return NULL;
}

static uint64_t disk_bytes(struct udev_device *dev)
{
	const char *size = udev_device_get_sysattr_value(dev, "size");

	return size ? strtoull(size, NULL, 10) * 512 : 0;
}

static const char *prop(struct udev_device *dev, const char *key)
{
	const char *v = udev_device_get_property_value(dev, key);

	return v ? v : "";
}

/* A disk appeared (or got its medium): start its job when its port is watched and its slot free. */
static void stick_added(struct ctx *c, struct udev_device *dev)
{
	const char *devnode = udev_device_get_devnode(dev);
	const char *port = prop(dev, "ID_PATH");
	struct udev_device *usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
	struct station_slot *slot;
	struct job *job;

	if (!devnode || c->stopping || disk_bytes(dev) == 0)
		return;
	/* Only USB disks get a slot (a loop device made on this PC is no stick). The safety module still
	 * judges each stick in full before a byte is written. */
	if (!c->o.allow_non_usb && !usb)
		return;
	pthread_mutex_lock(&c->lock);
	/* A stick we already handled (its result is showing) sends "change" events whenever a writer
	 * closes it (udev's watch rule): it is the same stick, not a new one, until it is removed. */
	if (job_of_dev(c, devnode) || station_slot_of_dev(&c->st, devnode) ||
	    !(slot = station_slot_for_port(&c->st, port, usb ? udev_device_get_sysname(usb) : NULL))) {
		pthread_mutex_unlock(&c->lock);
		return; /* already ours, or not on a watched port: never touched */
	}
	if (!station_stick_arrived(&c->st, slot, devnode, prop(dev, "ID_SERIAL_SHORT"), prop(dev, "ID_MODEL"),
				   disk_bytes(dev), station_elapsed(c))) {
		snprintf(c->pending[slot - c->st.slot], sizeof(c->pending[0]), "%s", udev_device_get_syspath(dev));
		pthread_mutex_unlock(&c->lock);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		station_job_done(&c->st, slot, OUT_REFUSED, "out of memory", station_elapsed(c));
		pthread_mutex_unlock(&c->lock);
		return;
	}
	job->ctx = c;
	job->slot = slot;
	snprintf(job->devnode, sizeof(job->devnode), "%s", devnode);
	snprintf(job->syspath, sizeof(job->syspath), "%s", udev_device_get_syspath(dev));
	station_emit_slot(c, "stick", slot);
	station_log(c, "slot %u (%s) %s %s: stick on %s", slot->number, slot->label, devnode,
		    slot->serial[0] ? slot->serial : "-", port);
	if (pthread_create(&job->thread, NULL, station_job_main, job)) {
		station_job_done(&c->st, slot, OUT_REFUSED, "cannot start a thread", station_elapsed(c));
		free(job);
	} else {
		job->next = c->jobs;
		c->jobs = job;
	}
	pthread_mutex_unlock(&c->lock);
}

static void stick_removed(struct ctx *c, struct udev_device *dev)
{
	const char *devnode = udev_device_get_devnode(dev);
	struct station_slot *slot;
	struct job *job;

	if (!devnode)
		return;
	pthread_mutex_lock(&c->lock);
	job = job_of_dev(c, devnode);
	slot = station_stick_left(&c->st, devnode);
	if (job && slot && slot->pulled)
		job->abort = 1; /* the engine stops at its next block; the stick is reported pulled */
	if (slot) {
		station_emit_slot(c, slot->detached ? "ejected" : "removed", slot);
		station_log(c, "slot %u (%s) %s: %s", slot->number, slot->label, devnode,
			    slot->detached ? "ejected" : "removed");
	}
	pthread_mutex_unlock(&c->lock);
}

void station_udev_event(struct ctx *c, struct udev_monitor *mon)
{
	struct udev_device *dev = udev_monitor_receive_device(mon);
	const char *action;

	if (!dev)
		return;
	action = udev_device_get_action(dev);
	if (action && (!strcmp(action, "add") || !strcmp(action, "change")))
		stick_added(c, dev);
	else if (action && !strcmp(action, "remove"))
		stick_removed(c, dev);
	udev_device_unref(dev);
}

/* --existing: sticks already plugged in when the station starts are written too. */
void station_adopt_existing(struct ctx *c, struct udev *udev)
{
	struct udev_enumerate *en = udev_enumerate_new(udev);
	struct udev_list_entry *e;

	if (!en)
		return;
	udev_enumerate_add_match_subsystem(en, "block");
	udev_enumerate_add_match_property(en, "DEVTYPE", "disk");
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev = udev_device_new_from_syspath(udev, udev_list_entry_get_name(e));

		if (dev) {
			stick_added(c, dev);
			udev_device_unref(dev);
		}
	}
	udev_enumerate_unref(en);
}

/* Starts the stick that waited for its slot, if it is still there. */
static void start_pending(struct ctx *c, struct station_slot *slot)
{
	char *syspath = c->pending[slot - c->st.slot];
	struct udev_device *dev;

	if (!syspath[0])
		return;
	dev = udev_device_new_from_syspath(c->udev, syspath);
	syspath[0] = '\0';
	if (dev) {
		stick_added(c, dev);
		udev_device_unref(dev);
	}
}

unsigned station_reap_jobs(struct ctx *c)
{
	struct job **pp = &c->jobs;
	unsigned running = 0;

	while (*pp) {
		struct job *j = *pp;
		bool done;

		pthread_mutex_lock(&c->lock);
		done = j->done;
		pthread_mutex_unlock(&c->lock);
		if (!done) {
			running++;
			pp = &j->next;
			continue;
		}
		pthread_join(j->thread, NULL);
		*pp = j->next;
		if (!c->stopping)
			start_pending(c, j->slot);
		free(j);
	}
	return running;
}

void station_stop_all(struct ctx *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	for (struct job *j = c->jobs; j; j = j->next)
		j->abort = 1;
	pthread_mutex_unlock(&c->lock);
}

struct udev_monitor *station_open_monitor(struct udev *udev)
{
	struct udev_monitor *mon = udev_monitor_new_from_netlink(udev, "udev");

	if (!mon)
		return NULL;
	if (udev_monitor_filter_add_match_subsystem_devtype(mon, "block", "disk") ||
	    udev_monitor_enable_receiving(mon)) {
		udev_monitor_unref(mon);
		return NULL;
	}
	return mon;
}
