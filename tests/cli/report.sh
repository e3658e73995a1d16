#!/usr/bin/env bash
# dartdup report: an audit log of known content (passes and failures per port, kinds, speeds, a counterfeit,
# damaged lines, hostile vendor/model/port strings) -> the numbers in the CSV, the SVG figures and escaped
# strings in the HTML, nothing from the network; bad outputs and inputs refused; outputs replaced atomically.
. tests/lib.sh
D=$DARTDUP

python3 - "$T" <<'PY'
import json, sys
T = sys.argv[1]
def rec(hour, port, result, kind=None, vendor="Kingston", model="DT50", bw=10**9, ws=50.0, bv=10**9, vs=10.0,
        fbo=None, minute=10):
    return json.dumps({"schema": 1, "time": "2026-12-01T%02d:%02d:00Z" % (hour, minute), "host": "bench1",
        "tool_version": "0.9", "image_id": "ab" * 32, "image_name": "DaRT 10", "mode": "write",
        "target": "/dev/sdx", "port": port, "vendor": vendor, "model": model, "serial": "S1",
        "capacity": 32 * 10**9, "result": result, "bytes_written": bw, "bytes_skipped": 0,
        "bytes_verified": bv, "first_bad_offset": fbo, "write_seconds": ws, "verify_seconds": vs,
        "error": None if result == "pass" else "bad", "kind": kind}, ensure_ascii=False)
a = []
# port p1: 5 pass (hour 8); p2: 4 pass + 1 counterfeit (hour 9); p3, the bad socket: 1 pass, 3 io, 1 mismatch
a += [rec(8, "p1", "pass") for _ in range(5)]
a += [rec(9, "p2", "pass", ws=20.0) for _ in range(4)]
a.append(rec(9, "p2", "fail", "counterfeit", vendor="Fake", model="64GB", fbo=8 * 2**30, bv=0, vs=0))
a.append(rec(10, "p3", "pass"))
a += [rec(10, "p3", "fail", "io", fbo=5 * 2**20, bv=0, vs=0) for _ in range(3)]
a.append(rec(10, "p3", "fail", "mismatch", fbo=3 * 2**30, ws=50.0, vs=10.0))
# hostile strings: a formula, a script, a control character
a.append(rec(11, "@SUM(1+1)", "pass", vendor="=cmd|' /C calc'!A0", model="<script>alert(1)</script>\u001b[2J"))
damaged = ["not json", '{"schema":1,"result":', '{"schema":1,"result":5}', '{"schema":2,"result":"pass"}',
           '{"schema":1,"result":"pass"} trailing', '[1,2]', "x" * 70000]
with open(T + "/a.jsonl", "w") as f:
    f.write("\n".join(a[:6]) + "\n" + damaged[0] + "\n\n" + "\n".join(a[6:]) + "\n")
    # lines 1-6 records, 7 damaged, 8 blank, 9.. records
with open(T + "/b.jsonl", "w") as f:
    f.write("\n".join(damaged[1:]) + "\n" + rec(12, "p1", "incomplete", "interrupted") + "\n" + rec(12, "p1", "refused", "too_small", bw=0, bv=0))
    # the last line has no newline
# many models and ports: the tables stay bounded, the rest goes to "(other)"
with open(T + "/many.jsonl", "w") as f:
    for i in range(300):
        f.write(rec(8, "port%d" % i, "pass", model="M%d" % i) + "\n")
PY
printf '{"schema":1,' >"$T/long.jsonl"; head -c 5000000 /dev/zero | tr '\0' 'a' >>"$T/long.jsonl"

expect_rc "report --help" 0 "$D" report --help
out_has "usage shown" "usage: dartdup report"
expect_rc "no -o is a usage error" 2 "$D" report "$T/a.jsonl"
expect_rc "no log is a usage error" 2 "$D" report -o "$T/r.html"

expect_rc "report with CSV and damaged lines" 0 "$D" report "$T/a.jsonl" "$T/b.jsonl" -o "$T/r.html" --csv "$T/r.csv"
out_has "damaged line named by file and line" "a.jsonl:7: damaged line: not JSON"
out_has "summary line" "18 records from 2 files"
check "no temporary file left" test -z "$(ls "$T" | grep tmp)"

python3 - "$T" >"$T/checks" <<'PY'
import csv, sys
T = sys.argv[1]
raw = open(T + "/r.csv", "rb").read()
rows = list(csv.reader(open(T + "/r.csv", encoding="utf-8-sig", newline="")))
v = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
def eq(name, key, want):
    got = v.get(key)
    print(("ok - " if got == str(want) else "not ok - ") + name + ("" if got == str(want) else ": %r, expected %r" % (got, want)))
def true(name, cond):
    print(("ok - " if cond else "not ok - ") + name)
true("CSV starts with a UTF-8 BOM and the header", raw.startswith(b'\xef\xbb\xbf"figure","group","item","value"\r\n'))
true("CSV lines end in CRLF", raw.count(b"\r\n") == len(rows) and b"\n" not in raw.replace(b"\r\n", b""))
eq("records", ("summary", "", "records"), 18)
eq("damaged lines: 1 in a, 7 in b", ("summary", "", "damaged lines"), 7)
eq("pass", ("result", "", "pass"), 11)
eq("fail", ("result", "", "fail"), 5)
eq("incomplete", ("result", "", "incomplete"), 1)
eq("refused", ("result", "", "refused"), 1)
eq("kind io", ("kind", "", "io"), 3)
eq("kind mismatch", ("kind", "", "mismatch"), 1)
eq("kind counterfeit", ("kind", "", "counterfeit"), 1)
eq("kind interrupted", ("kind", "", "interrupted"), 1)
eq("kind too_small", ("kind", "", "too_small"), 1)
eq("port p1 pass", ("port", "p1", "pass"), 5)
eq("port p2 fail", ("port", "p2", "fail"), 1)
eq("port p3 fail (the bad socket)", ("port", "p3", "fail"), 4)
eq("port p3 pass", ("port", "p3", "pass"), 1)
eq("hostile port quoted, formula defused", ("port", "'@SUM(1+1)", "pass"), 1)
eq("sticks in hour 8", ("per hour", "2026-12-01T08:00Z", "sticks"), 5)
eq("sticks in hour 10", ("per hour", "2026-12-01T10:00Z", "sticks"), 5)
eq("passed in hour 10", ("per hour", "2026-12-01T10:00Z", "pass"), 1)
eq("counterfeit per model", ("model", "Fake 64GB", "counterfeit"), 1)
eq("no counterfeit Kingston", ("model", "Kingston DT50", "counterfeit"), 0)
eq("Kingston sticks", ("model", "Kingston DT50", "sticks"), 16)
eq("write speed 20 MB/s (p1, p3, the incomplete one)", ("write speed bin MB/s", "Kingston DT50", "20-30"), 11)
eq("write speed 50 MB/s (p2)", ("write speed bin MB/s", "Kingston DT50", "50-75"), 4)
eq("verify speed 100 MB/s", ("verify speed bin MB/s", "Kingston DT50", "100-200"), 12)
eq("write speed mean", ("write speed", "Kingston DT50", "mean MB/s"), "28.0")
eq("first bad offset 5 MiB (io)", ("first bad offset", "", "4 MiB - 8 MiB"), 3)
eq("first bad offset 3 GiB (mismatch)", ("first bad offset", "", "2 GiB - 4 GiB"), 1)
eq("first bad offset 8 GiB (counterfeit)", ("first bad offset", "", "8 GiB - 16 GiB"), 1)
hostile = [r for r in rows if r[0] == "model" and "script" in r[1]]
true("hostile vendor: formula defused with an apostrophe", hostile and hostile[0][1].startswith("'=cmd"))
true("hostile model: control character replaced", hostile and "\x1b" not in hostile[0][1] and "?[2J" in hostile[0][1])
true("damaged lines listed with file and line", ["damaged line", T + "/a.jsonl", "not JSON", "7"] in rows)
true("an over-long line is damaged", any(r[0] == "damaged line" and r[2] == "line too long" and r[3] == "6" for r in rows))
PY
cat "$T/checks"

H=$T/r.html
for id in chart-per-hour chart-by-port chart-kinds chart-write-speed chart-verify-speed chart-counterfeit chart-first-bad-offset; do
	check "HTML has the figure $id" grep -q "<svg id=\"$id\"" "$H"
done
check "HTML has bars" test "$(grep -o '<rect ' "$H" | wc -l)" -gt 20
check "HTML: the bad socket is flagged" grep -q '>p3</text>' "$H"
check "HTML: p3 marked as suspect" grep -q 'class="suspect">p3<' "$H"
check "HTML: p1 not suspect" grep -q '<text x="254" y="[0-9]*" text-anchor="end">p1<' "$H"
check "HTML: vendor escaped" grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$H"
check "HTML: quote escaped" grep -qF "=cmd|&#39; /C calc&#39;!A0" "$H"
check "HTML: no raw <script" sh -c "! grep -qi '<script' '$H'"
check "HTML: no ESC byte" sh -c "! grep -q \$'\\x1b' '$H'"
check "HTML: nothing from the network" sh -c "! grep -Eqi 'https?:|src=|href=|url\\(|@import' '$H'"
check "HTML: a content security policy" grep -q "Content-Security-Policy\" content=\"default-src 'none'" "$H"
check "HTML: damaged lines listed" grep -q 'not JSON' "$H"

# --json summary for scripts
expect_rc "report --json" 0 "$D" report "$T/a.jsonl" "$T/b.jsonl" -o "$T/r.html" --json
check "--json is one object with the counts" python3 -c "
import json,sys; o=json.load(open('$T/out'))
assert o['schema']==1 and o['event']=='report' and o['records']==18 and o['damaged']==7
assert o['results']['fail']==5 and o['damaged_lines'][0]=={'file':'$T/a.jsonl','line':7,'problem':'not JSON'}"

# bounded tables
expect_rc "300 models and ports" 0 "$D" report "$T/many.jsonl" -o "$T/m.html" --csv "$T/m.csv"
check "models beyond the cap go to (other)" grep -q '"model","(other)","sticks",44' "$T/m.csv"
check "ports beyond the cap go to (other)" grep -q '"port","(other)","pass",44' "$T/m.csv"
expect_rc "a 5 MB line without newline" 0 "$D" report "$T/long.jsonl" -o "$T/l.html" --json
check "counted as one damaged line" python3 -c "
import json; o=json.load(open('$T/out')); assert o['lines']==1 and o['damaged']==1 and o['damaged_lines'][0]['problem']=='line too long'"

# an existing report is replaced (atomically: a new inode, never half written)
echo old >"$T/r.csv"
ino=$(stat -c %i "$T/r.csv")
expect_rc "report over an existing CSV" 0 "$D" report "$T/a.jsonl" -o "$T/r.html" --csv "$T/r.csv"
check "CSV replaced by rename" sh -c "[ \"\$(stat -c %i '$T/r.csv')\" != $ino ] && grep -q records '$T/r.csv'"

# refusals: nothing written
expect_rc "a missing log" 2 "$D" report "$T/none.jsonl" -o "$T/n.html"
check "no report for a missing log" test ! -e "$T/n.html"
expect_rc "a folder as log" 2 "$D" report "$T" -o "$T/n.html"
out_has "says what is wrong" "not a log file"
expect_rc "output is a log" 2 "$D" report "$T/a.jsonl" -o "$T/a.jsonl"
check "the log is untouched" grep -q '"p1"' "$T/a.jsonl"
expect_rc "CSV is a log" 2 "$D" report "$T/a.jsonl" -o "$T/x.html" --csv "$T/a.jsonl"
expect_rc "output under /dev" 2 "$D" report "$T/a.jsonl" -o /dev/null
expect_rc "output is a folder" 2 "$D" report "$T/a.jsonl" -o "$T"
expect_rc "output in a missing folder" 2 "$D" report "$T/a.jsonl" -o "$T/nodir/r.html"
expect_rc "HTML and CSV the same file" 2 "$D" report "$T/a.jsonl" -o "$T/s.html" --csv "$T/./s.html"
check "nothing made for refused outputs" test ! -e "$T/x.html" -a ! -e "$T/s.html"
ln -s "$T/a.jsonl" "$T/link.html"
expect_rc "output is a symlink to a log" 2 "$D" report "$T/a.jsonl" -o "$T/link.html"

# progress on a terminal only (script(1) gives the command a terminal)
if command -v script >/dev/null; then
	script -qec "'$D' report '$T/many.jsonl' -o '$T/p.html'" /dev/null >"$T/tty" 2>&1
	check "progress shown on a terminal" grep -Eq 'report: .*many.jsonl +[0-9]+% \([0-9]+ records\)' "$T/tty"
	script -qec "'$D' report '$T/many.jsonl' -o '$T/p.html' --json" /dev/null >"$T/tty" 2>&1
	check "no progress with --json" sh -c "! grep -q 'report: ' '$T/tty'"
	"$D" report "$T/many.jsonl" -o "$T/p.html" >"$T/notty" 2>&1
	check "no progress without a terminal" sh -c "! grep -q 'report: ' '$T/notty'"
fi
