#!/usr/bin/env bash
# dartdup report in a real browser (optional: skipped when Debian's chromium is not installed; it is not in
# scripts/deps, install it by hand: apt-get install chromium). Headless Chromium renders a report of a known
# audit log: the DOM it built holds every figure with the log's numbers and the hostile vendor as text, and
# its screenshot shows the plots (pixels of the bars' colours). REPORT_SHOT=FILE keeps the screenshot
# (docs/report-example.png was made so).
. tests/lib.sh
D=$DARTDUP
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	ok "report in a browser # SKIP chromium not installed"
	exit 0
fi

python3 - "$T/a.jsonl" <<'PY'
import json, sys
def rec(hour, port, result, kind=None, vendor="Kingston", model="DT50", ws=50.0, fbo=None, minute=5):
    return json.dumps({"schema": 1, "time": "2026-12-01T%02d:%02d:00Z" % (hour, minute), "mode": "write",
        "target": "/dev/sdx", "port": port, "vendor": vendor, "model": model, "serial": "S", "capacity": 32 * 10**9,
        "result": result, "bytes_written": 10**9, "bytes_skipped": 0, "bytes_verified": 10**9,
        "first_bad_offset": fbo, "write_seconds": ws, "verify_seconds": 10.0, "error": None, "kind": kind})
a = [rec(8 + i % 6, "usb-0:1.%d" % (1 + i % 4), "pass", ws=30.0 + i % 40, minute=i % 60) for i in range(120)]
a += [rec(9 + i % 4, "usb-0:1.4", "fail", "io", fbo=(5 + i) * 2**20) for i in range(9)]
a += [rec(10, "usb-0:1.2", "fail", "counterfeit", vendor="Fake", model="128GB", fbo=16 * 2**30) for i in range(3)]
a.append(rec(11, "usb-0:1.1", "pass", vendor="<script>document.title='owned'</script>", model="=cmd"))
open(sys.argv[1], "w").write("\n".join(a) + "\nbroken line\n")
PY
expect_rc "report for the browser" 0 "$D" report "$T/a.jsonl" -o "$T/r.html" --csv "$T/r.csv"

# the browser may not reach anything: every host name resolves nowhere and the proxy is a closed port
run_chromium() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
		--user-data-dir="$T/profile" --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" \
		--window-size=1000,2200 "$@" "file://$T/r.html" 2>"$T/chromium.err"
}
run_chromium --dump-dom >"$T/dom.html"
check "chromium rendered the page" grep -q '</html>' "$T/dom.html"
for id in chart-per-hour chart-by-port chart-kinds chart-write-speed chart-verify-speed chart-counterfeit chart-first-bad-offset; do
	check "the browser's DOM has the figure $id" grep -q "<svg id=\"$id\"" "$T/dom.html"
done
check "the bad socket is flagged in the page" grep -q 'class="suspect">usb-0:1.4<' "$T/dom.html"
check "its numbers as in the log (39 sticks, 9 failed)" grep -q '>39 (9 failed, 23%) check this port<' "$T/dom.html"
check "counterfeits as in the log (3 of 3 sticks)" grep -q '>3 of 3 sticks<' "$T/dom.html"
check "the hostile vendor is text, not a script" sh -c "grep -qF '&lt;script&gt;document.title' '$T/dom.html' && ! grep -q '<title>owned' '$T/dom.html'"

run_chromium --screenshot="$T/shot.png" >/dev/null
check "a screenshot was taken" test -s "$T/shot.png"
python3 - "$T/shot.png" <<'PY'
# a PNG decoder of the standard library's zlib (no PIL in the deps): count the bars' colours
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and interlace == 0
        bpp = 3 if ctype == 2 else 4
    elif typ == b"IDAT":
        idat += body
    pos += 12 + n
raw, stride, prev, counts = zlib.decompress(idat), w * bpp, bytearray(w * bpp), {}
want = {"pass (green)": (46, 125, 50), "fail (red)": (198, 40, 40), "offsets (blue)": (21, 101, 192),
        "counterfeit (purple)": (106, 27, 154)}
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        px = tuple(line[x:x + 3])
        counts[px] = counts.get(px, 0) + 1
    prev = line
for name, rgb in want.items():
    n = counts.get(rgb, 0)
    print(("ok - " if n >= 200 else "not ok - ") + "the screenshot shows %s bars (%d pixels)" % (name, n))
PY
[ -n "${REPORT_SHOT:-}" ] && cp "$T/shot.png" "$REPORT_SHOT"
exit 0
