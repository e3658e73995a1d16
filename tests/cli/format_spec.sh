#!/usr/bin/env bash
# docs/FORMAT.md is precise enough for another implementation: an independent reader written from the
# document alone (Python, zstd CLI per frame, OpenSSL for the signature) accepts what dartdup writes.
. tests/lib.sh
D=$DARTDUP
make_image "$T/disk.img" $((3 * 1048576 + 777)) 4
head -c 524288 /dev/zero >>"$T/disk.img"  # at least one whole zero block
"$D" keygen -o "$T/k" >/dev/null
if ! "$D" pack "$T/disk.img" -o "$T/disk.dfi" --key "$T/k.key" --block-size 256K --name spec >/dev/null 2>"$T/err"; then
	not_ok "pack for the spec reader: $(cat "$T/err")"
	exit 0
fi
python3 - "$T/disk.dfi" "$T/disk.img" "$T" <<'PY'
import hashlib, struct, subprocess, sys
path, img_path, tmp = sys.argv[1:4]
f = open(path, "rb").read()
img = open(img_path, "rb").read()
SKIP = 0x184D2A5D
def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))
    return cond

magic, size = struct.unpack_from("<II", f, 0)
ok("spec: header frame", magic == SKIP and size == 16 and f[8:12] == b"DFIH" and
   struct.unpack_from("<H", f, 12)[0] == 1 and f[14:24] == bytes(10))
t = len(f) - 72
magic, size = struct.unpack_from("<II", f, t)
tag, ver, res, mo, mfs, sfs, fsize = struct.unpack_from("<4sHHQIIQ", f, t + 8)
image_id = f[t + 40:t + 72]
ok("spec: trailer frame", magic == SKIP and size == 64 and tag == b"DFIT" and ver == 1 and res == 0)
ok("spec: trailer sizes add up", fsize == len(f) and mo + mfs + sfs + 72 == len(f) and mo >= 24)
magic, msize = struct.unpack_from("<II", f, mo)
m = f[mo + 8:mo + 8 + msize]
ok("spec: manifest frame", magic == SKIP and msize == mfs - 8 and m[:4] == b"DFIM")
ok("spec: image id is the SHA-256 of the manifest payload", hashlib.sha256(m).digest() == image_id)
(ver, flags, bs, wlog, halg, res, isize, count, doff, created) = struct.unpack_from("<HHIBBHQQQQ", m, 4)
nl, tl = struct.unpack_from("<HH", m, 80)
name = m[84:84 + nl].decode()
ok("spec: manifest fields", ver == 1 and bs == 262144 and wlog == 18 and halg == 1 and isize == len(img)
   and count == -(-isize // bs) and doff == 24 and name == "spec" and len(m) == 84 + nl + tl + 48 * count,
   (ver, bs, wlog, isize, count, doff, name))
e = 84 + nl + tl
off, good, zeros = doff, True, 0
for i in range(count):
    h, fo, fs, fl = struct.unpack_from("<32sQII", m, e + 48 * i)
    block = img[i * bs:(i + 1) * bs]
    good &= fo == off and h == hashlib.sha256(block).digest() and (fl == 1) == (block == bytes(len(block)))
    zeros += fl == 1
    frame = f[fo:fo + fs]
    # each frame alone decodes to its block
    out = subprocess.run(["zstd", "-qdc"], input=frame, capture_output=True).stdout
    good &= out == block and frame[:4] == b"\x28\xb5\x2f\xfd"
    off += fs
ok("spec: entries: contiguous frames, block hashes, zero flags, each frame decodes alone", good and off == mo)
ok("spec: zero blocks are flagged", zeros >= 1)
s = mo + mfs
magic, ssize = struct.unpack_from("<II", f, s)
tag, ver, alg = struct.unpack_from("<4sHH", f, s + 8)
key_id = f[s + 16:s + 48]
(slen,) = struct.unpack_from("<H", f, s + 48)
der = f[s + 50:s + 50 + slen]
ok("spec: signature frame", magic == SKIP and tag == b"DFIS" and ver == 1 and alg == 1 and ssize == 42 + slen
   and sfs == 8 + ssize)
open(tmp + "/id.bin", "wb").write(image_id)
open(tmp + "/sig.der", "wb").write(der)
pub_der = subprocess.run(["openssl", "pkey", "-pubin", "-in", tmp + "/k.pub", "-outform", "DER"],
                         capture_output=True).stdout
ok("spec: key id is the SHA-256 of the public key DER", hashlib.sha256(pub_der).digest() == key_id)
r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", tmp + "/k.pub", "-in", tmp + "/id.bin",
                    "-sigfile", tmp + "/sig.der"], capture_output=True, text=True)
ok("spec: OpenSSL verifies the ECDSA signature over the image id", r.returncode == 0, r.stdout + r.stderr)
PY
