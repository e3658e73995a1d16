/* Opening an ISO: pick the file system that holds the real names (UDF, then Joliet, then ISO 9660),
 * read the boot catalog, and copy file data out. */
#include "host/iso/iso.h"
#include "host/iso/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int iso_pread(const struct iso_image *img, void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	size_t done = 0;

	if (off > img->size || len > img->size - off)
		return dd_fail(err, DD_EINPUT, "%s: truncated (needs byte %llu, file has %llu)", img->path,
			       (unsigned long long)(off + len), (unsigned long long)img->size);
	while (done < len) {
		ssize_t n = pread(img->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dd_fail_errno(err, DD_EIO, errno, "%s: read", img->path);
		if (n == 0)
			return dd_fail(err, DD_EINPUT, "%s: truncated", img->path);
		done += (size_t)n;
	}
	return DD_OK;
}

/* Primary volume descriptor: volume id and creation time (for the report and FAT timestamps). */
static void read_pvd(struct iso_image *img, const uint8_t *pvd)
{
	size_t n = 32;

	memcpy(img->volume_id, pvd + 40, 32);
	while (n && (img->volume_id[n - 1] == ' ' || img->volume_id[n - 1] == '\0'))
		n--;
	img->volume_id[n] = '\0';
	img->created = iso_dec_datetime(pvd + 813);
}

int iso_open(const char *path, struct iso_image *img, struct dd_err *err)
{
	uint8_t vd[ISO_SECTOR];
	struct stat st;
	bool cd001;
	int rc;

	memset(img, 0, sizeof(*img));
	img->path = path;
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	if (fstat(img->fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		rc = dd_fail(err, DD_EINPUT, "%s: not a regular file", path);
		goto fail;
	}
	img->size = (uint64_t)st.st_size;
	if (img->size < 18 * ISO_SECTOR) {
		rc = dd_fail(err, DD_EINPUT, "%s: not an ISO image (too small)", path);
		goto fail;
	}
	if ((rc = iso_pread(img, vd, sizeof(vd), 16 * ISO_SECTOR, err)))
		goto fail;
	cd001 = !memcmp(vd + 1, "CD001", 5);
	if (!cd001 && memcmp(vd + 1, "BEA01", 5)) {
		rc = dd_fail(err, DD_EINPUT, "%s: not an ISO image (no volume descriptor at sector 16)", path);
		goto fail;
	}
	if (cd001 && vd[0] == 1)
		read_pvd(img, vd);
	rc = udf_read(img, err);
	if (rc == 1) {
		if (!cd001) {
			rc = dd_fail(err, DD_EINPUT, "%s: neither ISO 9660 nor UDF", path);
			goto fail;
		}
		rc = iso9660_read(img, err);
	}
	if (rc)
		goto fail;
	if (cd001 && (rc = eltorito_read(img, err)))
		goto fail;
	if ((rc = iso_tree_finish(img->root, err))) {
		dd_err_prefix(err, "%s", path);
		goto fail;
	}
	return DD_OK;
fail:
	iso_close(img);
	return rc;
}

void iso_close(struct iso_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	iso_node_free(img->root);
	img->root = NULL;
}

static int host_read(const struct iso_node *n, uint64_t off, void *buf, size_t len, struct dd_err *err)
{
	int fd = open(n->host_path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s", n->host_path);
	got = pread(fd, buf, len, (off_t)off);
	close(fd);
	if (got < 0 || (size_t)got != len)
		return dd_fail(err, DD_EIO, "%s: short read", n->host_path);
	return DD_OK;
}

int iso_read(const struct iso_image *img, const struct iso_node *n, uint64_t off, void *buf,
	     size_t len, struct dd_err *err)
{
	uint8_t *out = buf;
	uint64_t pos = 0;

	if (off > n->size || len > n->size - off)
		return dd_fail(err, DD_EINTERNAL, "%s: read past end", n->name);
	if (n->inline_data) {
		memcpy(buf, n->inline_data + off, len);
		return DD_OK;
	}
	if (n->host_path)
		return host_read(n, off, buf, len, err);
	for (size_t i = 0; i < n->n_ext && len; i++) {
		const struct iso_extent *e = &n->ext[i];
		uint64_t skip, take;
		int rc;

		if (off >= pos + e->len) {
			pos += e->len;
			continue;
		}
		skip = off - pos;
		take = e->len - skip < len ? e->len - skip : len;
		if (e->zero)
			memset(out, 0, take);
		else if ((rc = iso_pread(img, out, take, e->off + skip, err)))
			return rc;
		out += take;
		off += take;
		len -= take;
		pos += e->len;
	}
	return len ? dd_fail(err, DD_EINPUT, "%s: data shorter than its size", n->name) : DD_OK;
}

/* Copy len bytes in_fd@in_off -> out_fd@out_off; copy_file_range first (no copy through user
 * space, reflinks where the file system can), plain pread/pwrite when it is not supported. */
static int copy_range(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off, uint64_t len,
		      const char *what, struct dd_err *err)
{
	static const size_t chunk = 1 << 20;
	bool plain = false;
	uint8_t *buf = NULL;
	int rc = DD_OK;

	while (len) {
		ssize_t n;

		if (!plain) {
			loff_t i = (loff_t)in_off, o = (loff_t)out_off;

			n = copy_file_range(in_fd, &i, out_fd, &o, len, 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			if (!buf && !(buf = malloc(chunk))) {
				rc = dd_fail(err, DD_ENOMEM, "out of memory");
				break;
			}
			n = pread(in_fd, buf, len < chunk ? len : chunk, (off_t)in_off);
			if (n > 0 && iso_write_all(out_fd, buf, (size_t)n, out_off)) {
				rc = dd_fail_errno(err, DD_EIO, errno, "write");
				break;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n ? dd_fail_errno(err, DD_EIO, errno, "%s: copy", what)
			       : dd_fail(err, DD_EINPUT, "%s: truncated", what);
			break;
		}
		in_off += (uint64_t)n;
		out_off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	free(buf);
	return rc;
}

int iso_copy_range(const struct iso_image *img, const struct iso_node *n, uint64_t off, uint64_t len,
		   int out_fd, uint64_t out_off, struct dd_err *err)
{
	uint64_t pos = 0;
	int rc = DD_OK;

	if (off > n->size || len > n->size - off)
		return dd_fail(err, DD_EINTERNAL, "%s: copy past end", n->name);
	if (n->inline_data)
		return iso_write_all(out_fd, n->inline_data + off, len, out_off)
			       ? dd_fail_errno(err, DD_EIO, errno, "write") : DD_OK;
	if (n->host_path) {
		int fd = open(n->host_path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return dd_fail_errno(err, DD_EIO, errno, "%s", n->host_path);
		rc = copy_range(fd, off, out_fd, out_off, len, n->host_path, err);
		close(fd);
		return rc;
	}
	for (size_t i = 0; i < n->n_ext && len && !rc; i++) {
		const struct iso_extent *e = &n->ext[i];
		uint64_t skip, take;

		if (off >= pos + e->len) {
			pos += e->len;
			continue;
		}
		skip = off - pos;
		take = e->len - skip < len ? e->len - skip : len;
		/* zero extents: the output reads as zeros already (fresh, sparse file) */
		if (!e->zero) {
			if (e->off > img->size || e->len > img->size - e->off)
				return dd_fail(err, DD_EINPUT, "%s: %s: data outside the image", img->path, n->name);
			rc = copy_range(img->fd, e->off + skip, out_fd, out_off, take, img->path, err);
		}
		out_off += take;
		off += take;
		len -= take;
		pos += e->len;
	}
	if (!rc && len)
		rc = dd_fail(err, DD_EINPUT, "%s: data shorter than its size", n->name);
	return rc;
}

int iso_copy(const struct iso_image *img, const struct iso_node *n, int out_fd, uint64_t out_off,
	     struct dd_err *err)
{
	return iso_copy_range(img, n, 0, n->size, out_fd, out_off, err);
}

int iso_extract(const struct iso_image *img, const struct iso_node *n, const char *path, struct dd_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc;

	if (fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s", path);
	rc = iso_copy(img, n, fd, 0, err);
	if (!rc && ftruncate(fd, (off_t)n->size))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", path);
	if (close(fd) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", path);
	return rc;
}
