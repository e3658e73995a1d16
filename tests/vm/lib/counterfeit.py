# nbdkit python plugin: a counterfeit USB stick's storage, for the QEMU rig (stick ... fake=wrap:REAL).
# It announces `size` bytes but holds only `real`: past it, writes either wrap around onto [0, real) (the
# controller ignores the high address bits) or are lost, reads then returning zeros (mode=drop).
#   nbdkit -U SOCK python counterfeit.py file=BACKING size=BYTES real=BYTES mode=wrap|drop
import os

import nbdkit

API_VERSION = 2
cfg = {}


def config(key, value):
    cfg[key] = value


def config_complete():
    for k in ("file", "size", "real", "mode"):
        if k not in cfg:
            raise RuntimeError("counterfeit.py: %s= missing" % k)
    if cfg["mode"] not in ("wrap", "drop"):
        raise RuntimeError("counterfeit.py: mode is wrap or drop")


def thread_model():
    return nbdkit.THREAD_MODEL_SERIALIZE_ALL_REQUESTS


def open(readonly):
    return os.open(cfg["file"], os.O_RDWR)


def close(fd):
    os.close(fd)


def get_size(fd):
    return int(cfg["size"])


def pieces(off, length):
    """(physical offset or None, length) runs covering [off, off + length)."""
    real = int(cfg["real"])
    while length > 0:
        if off < real:
            n = min(length, real - off)
            yield off, n
        else:
            inner = off % real
            n = min(length, real - inner)
            yield (inner if cfg["mode"] == "wrap" else None), n
        off += n
        length -= n


def pread(fd, buf, off, flags):
    pos = 0
    for phys, n in pieces(off, len(buf)):
        if phys is None:
            buf[pos:pos + n] = bytes(n)
        else:
            data = os.pread(fd, n, phys)
            buf[pos:pos + len(data)] = data
            buf[pos + len(data):pos + n] = bytes(n - len(data))
        pos += n


def pwrite(fd, buf, off, flags):
    pos = 0
    view = memoryview(buf)
    for phys, n in pieces(off, len(buf)):
        if phys is not None:
            os.pwrite(fd, view[pos:pos + n], phys)
        pos += n


def flush(fd, flags):
    os.fsync(fd)


def can_flush(fd):
    return True
