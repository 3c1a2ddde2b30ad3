#!/bin/sh
# crit: encode -> decode -> encode reproduces every image byte for byte (compact and --pretty),
# show counts entries, and broken images or JSON give a one-line error with the offset (or line)
# and a non-zero exit. Env: CRIT (default build/bin/crit). Exit 0 pass, 77 skip, else fail.

top=$(cd "$(dirname "$0")/../.." && pwd)
CRIT=${CRIT:-$top/build/bin/crit}
data=$top/test/misc/crit

if [ ! -x "$CRIT" ]; then
	echo "SKIP: no crit binary at $CRIT"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crit-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# expect_error WHAT PATTERN CMD...: CMD fails with one line on stderr matching PATTERN
expect_error() {
	what=$1
	pattern=$2
	shift 2
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		fail "$what: exit 0"
		return
	fi
	lines=$(wc -l <"$tmp/err")
	if [ "$lines" -ne 1 ]; then
		fail "$what: $lines lines of error: $(cat "$tmp/err")"
	elif ! grep -q -- "$pattern" "$tmp/err"; then
		fail "$what: error \"$(cat "$tmp/err")\" lacks \"$pattern\""
	fi
}

mkdir "$tmp/set"
n=0
for json in "$data"/*.json; do
	name=$(basename "$json" .json)
	img=$tmp/set/$name.img
	n=$((n + 1))
	if ! "$CRIT" encode -i "$json" -o "$img"; then
		fail "$name: encode of the shipped JSON failed"
		continue
	fi
	for mode in "" --pretty "--pretty --hex"; do
		"$CRIT" decode -i "$img" -o "$tmp/$name.json" $mode || fail "$name: decode $mode"
		"$CRIT" encode -i "$tmp/$name.json" -o "$tmp/$name.img" || fail "$name: re-encode $mode"
		cmp -s "$img" "$tmp/$name.img" || fail "$name: decode $mode + encode changed the bytes"
		"$CRIT" decode -i "$tmp/$name.img" -o "$tmp/$name.2.json" $mode
		cmp -s "$tmp/$name.json" "$tmp/$name.2.json" || fail "$name: decode $mode not stable"
	done
	# stdin and stdout work too
	"$CRIT" decode -i "$img" | "$CRIT" encode -o "$tmp/$name.pipe.img" ||
		fail "$name: decode | encode"
	cmp -s "$img" "$tmp/$name.pipe.img" || fail "$name: decode | encode changed the bytes"
done
[ "$n" -ge 8 ] || fail "only $n JSON inputs in $data"

# show: one line per image with the entry count; raw pages by size
head -c 8192 /dev/zero >"$tmp/set/pages-1.img"
"$CRIT" show "$tmp/set" >"$tmp/show" || fail "show: exit $?"
grep -q '^pstree.img  *pstree  *3 entries$' "$tmp/show" || fail "show: pstree line: $(cat "$tmp/show")"
grep -q '^pagemap-42.img  *pagemap  *4 entries$' "$tmp/show" || fail "show: pagemap line"
grep -q '^pages-1.img  *pages  *2 pages (8192 bytes)$' "$tmp/show" || fail "show: pages line"
[ "$(wc -l <"$tmp/show")" -eq $((n + 1)) ] || fail "show: $(wc -l <"$tmp/show") lines for $((n + 1)) images"

# show tells an incomplete set
mkdir "$tmp/inc"
printf '{"magic": "inventory", "entries": [{"img_version": 1, "root_pid": 1, "kind": "DUMP", "complete": false}]}' |
	"$CRIT" encode -o "$tmp/inc/inventory.img" || fail "encode from stdin"
"$CRIT" show "$tmp/inc" | grep -q 'the image set is incomplete' || fail "show: incomplete set not told"

# the unknown fields of a newer image survive
"$CRIT" decode -i "$tmp/set/pstree.img" | grep -q '"__unknown":\[{"tag":20,' ||
	fail "pstree: unknown fields not shown"

# broken images: one line, the file and the offset, non-zero exit
p=$tmp/set/pstree.img
size=$(wc -c <"$p")
head -c $((size - 3)) "$p" >"$tmp/short.img"
expect_error "truncated entry" "short.img: truncated entry at offset [0-9]* (needs [0-9]* bytes, [0-9]* left)" \
	"$CRIT" decode -i "$tmp/short.img"
head -c 2 "$p" >"$tmp/magic.img"
expect_error "short magic" "magic.img: truncated magic at offset 0 (2 of 4 bytes)" \
	"$CRIT" decode -i "$tmp/magic.img"
: >"$tmp/empty.img"
expect_error "empty" "empty.img: no magic at offset 0" "$CRIT" decode -i "$tmp/empty.img"
printf 'XXXX' >"$tmp/bad.img"
tail -c +5 "$p" >>"$tmp/bad.img"
expect_error "bad magic" "bad.img: bad magic 0x58585858 at offset 0" "$CRIT" decode -i "$tmp/bad.img"
# a garbage entry: the magic of pstree, length 3, three 0xff bytes
head -c 4 "$p" >"$tmp/garbage.img"
printf '\003\000\000\000\377\377\377' >>"$tmp/garbage.img"
expect_error "garbage" "garbage.img: cannot unpack PstreeEntry entry at offset 8" \
	"$CRIT" decode -i "$tmp/garbage.img"
head -c 4 "$p" >"$tmp/huge.img"
printf '\377\377\377\177' >>"$tmp/huge.img"
expect_error "oversized" "huge.img: oversized entry at offset 4" "$CRIT" decode -i "$tmp/huge.img"
expect_error "missing" "nonexistent.img: no such file" "$CRIT" decode -i "$tmp/nonexistent.img"
"$CRIT" show "$tmp" >"$tmp/show2" && fail "show of broken images: exit 0"
grep -q 'garbage.img .*offset 8' "$tmp/show2" || fail "show: no garbage.img error line"

# bad JSON: one line with the line number, and no image left behind
printf '{"magic": "pstree", "entries": [\n  {"pid": 1, "ppid": 0, "pgid": 1, "sid": 1, "bogus": 2}]}\n' >"$tmp/unknown.json"
expect_error "unknown field" "entries\[0\].bogus (line 2, column .*): PstreeEntry has no field \"bogus\"" \
	"$CRIT" encode -i "$tmp/unknown.json" -o "$tmp/unknown.img"
[ -e "$tmp/unknown.img" ] && fail "unknown field: a half image left behind"
printf '{"magic": "pstree", "entries": [{"pid": 1, "ppid": 0, "pgid": 1}]}' >"$tmp/req.json"
expect_error "required" 'required field "sid" of PstreeEntry is missing' \
	"$CRIT" encode -i "$tmp/req.json" -o "$tmp/req.img"
printf '{"magic": "pstree", "entries": [{"pid": 4294967296, "ppid": 0, "pgid": 1, "sid": 1}]}' >"$tmp/range.json"
expect_error "range" "not an unsigned 32-bit integer" "$CRIT" encode -i "$tmp/range.json" -o "$tmp/r.img"
printf '{"magic": "core", "entries": [{"mtype": "ARM"}]}' >"$tmp/enum.json"
expect_error "enum" '"ARM" is not a value of enum march' "$CRIT" encode -i "$tmp/enum.json" -o "$tmp/e.img"
printf '{"magic": "pstree", "entries": [\n\n  {"pid": 1,,}]}' >"$tmp/syntax.json"
expect_error "syntax" "line 3, column 13: " "$CRIT" encode -i "$tmp/syntax.json" -o "$tmp/s.img"
printf '{"magic": "nope", "entries": []}' >"$tmp/magic.json"
expect_error "magic" '"nope" (line 1): not an image kind' "$CRIT" encode -i "$tmp/magic.json" -o "$tmp/m.img"

# images of a real dump, when this build can dump (root, a working criu): byte-exact too
CRIU=${CRIU:-$top/build/bin/criu}
if [ "$(id -u)" = 0 ] && [ -x "$CRIU" ]; then
	setsid sleep 1000 </dev/null >/dev/null 2>&1 &
	victim=$!
	sleep 0.2
	mkdir "$tmp/real"
	if "$CRIU" dump -t "$victim" -D "$tmp/real" -o dump.log >/dev/null 2>&1; then
		for img in "$tmp"/real/*.img; do
			case $(basename "$img") in pages-*) continue ;; esac
			"$CRIT" decode -i "$img" -o "$tmp/real.json" &&
				"$CRIT" encode -i "$tmp/real.json" -o "$tmp/real.img" &&
				cmp -s "$img" "$tmp/real.img" ||
				fail "real dump: $(basename "$img") does not round-trip"
		done
		"$CRIT" show "$tmp/real" >/dev/null || fail "real dump: show found broken images"
	else
		echo "note: criu dump failed, the real-dump part is skipped"
	fi
	# SIGKILL: a failed dump may leave SIGTERM blocked
	kill -9 "$victim" 2>/dev/null
	wait "$victim" 2>/dev/null
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)" >&2
	exit 1
fi
echo "PASS: crit round trips of $n images, error messages"
exit 0
