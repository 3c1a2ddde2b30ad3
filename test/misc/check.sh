#!/bin/sh
# criu check: one line per feature, exit codes of --feature, unknown names, the vDSO line.
# Env: CRIU (default build/bin/criu). Exit 0: pass, 77: skip, else fail with a one-line reason.

CRIU=${CRIU:-build/bin/criu}
FEATURES="ptrace-seize clone3-set-tid pagemap-scan uffd-wp-async soft-dirty tcp-repair vdso
freezer-v1 freezer-v2 memfd pidfd mm-map xsave dirty-tracking timens fanotify"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

fail()
{
	echo "FAIL: $*"
	exit 1
}

[ -x "$CRIU" ] || fail "no criu binary at '$CRIU'"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: criu check needs root"
	exit 77
fi

# The line of feature $1 in file $2.
line_of()
{
	grep "^$1 " "$2" | head -n 1
}

# Plain check: every feature once, a summary line, exit 0 on these machines.
"$CRIU" check >"$tmp/all" 2>"$tmp/all.err"
rc=$?
[ $rc -eq 0 ] || fail "plain check exited $rc: $(tail -n 1 "$tmp/all")"
for f in $FEATURES; do
	n=$(grep -c "^$f  *\(yes\|no\) " "$tmp/all")
	[ "$n" = 1 ] || fail "plain check has $n lines for '$f'"
done
n=$(wc -l <"$tmp/all")
[ "$n" -eq 17 ] || fail "plain check printed $n lines, expected 16 features + summary"
grep -q "features present" "$tmp/all" || fail "no summary line"

# --all is the same report.
"$CRIU" check --all >"$tmp/all2" 2>/dev/null || fail "check --all exited non-zero"
[ "$(cut -c1-22 "$tmp/all")" = "$(cut -c1-22 "$tmp/all2")" ] || fail "check --all differs from check"

# --feature NAME: exit code agrees with the printed line, for every feature.
for f in $FEATURES; do
	"$CRIU" check --feature "$f" >"$tmp/one" 2>/dev/null
	rc=$?
	l=$(line_of "$f" "$tmp/one")
	[ -n "$l" ] || fail "--feature $f printed no line for it"
	case "$l" in
	"$f "*" yes "*) [ $rc -eq 0 ] || fail "--feature $f says yes but exited $rc" ;;
	"$f "*" no "*) [ $rc -ne 0 ] || fail "--feature $f says no but exited 0" ;;
	*) fail "--feature $f: unreadable line '$l'" ;;
	esac
	# the same answer as the full report
	[ "$(echo "$l" | cut -c1-22)" = "$(line_of "$f" "$tmp/all" | cut -c1-22)" ] ||
		fail "--feature $f disagrees with the full report"
done

# pagemap-scan exists since Linux 6.7.
set -- $(uname -r | tr '.-' '  ')
if [ "$1" -gt 6 ] || { [ "$1" -eq 6 ] && [ "$2" -ge 7 ]; }; then
	"$CRIU" check --feature pagemap-scan >/dev/null 2>&1 || fail "--feature pagemap-scan exited non-zero on $(uname -r)"
fi

# soft-dirty: the kernel marks new VMAs "sd" in smaps VmFlags exactly when it has soft-dirty.
"$CRIU" check --feature soft-dirty >"$tmp/sd" 2>/dev/null
rc=$?
if grep '^VmFlags:' /proc/self/smaps | grep -qw sd; then
	[ $rc -eq 0 ] || fail "kernel has soft-dirty (smaps 'sd'), --feature soft-dirty exited $rc"
else
	[ $rc -ne 0 ] || fail "kernel lacks soft-dirty, --feature soft-dirty exited 0"
	grep -q "^soft-dirty  *no " "$tmp/sd" || fail "soft-dirty line does not say no"
fi

# Several --feature flags: fails if any is missing.
"$CRIU" check --feature memfd --feature vdso >"$tmp/two" 2>/dev/null || fail "--feature memfd --feature vdso failed"
[ "$(wc -l <"$tmp/two")" -eq 2 ] || fail "two --feature flags did not print two lines"

# An unknown name: non-zero, and a message naming it and the valid names.
"$CRIU" check --feature no-such-thing >"$tmp/bad" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "unknown feature exited 0"
grep -q "unknown feature 'no-such-thing'" "$tmp/bad" || fail "no 'unknown feature' message: $(head -c 200 "$tmp/bad")"
grep -q "pagemap-scan" "$tmp/bad" || fail "unknown-feature message does not list the valid names"
# a typo among good names must not run the good ones
"$CRIU" check --feature memfd --feature nope >"$tmp/bad2" 2>&1 && fail "a bad name among good ones exited 0"

# The vDSO line names every vDSO area /proc/self/maps shows, [vvar_vclock] included.
vl=$(line_of vdso "$tmp/all")
for a in vvar vvar_vclock vdso; do
	if grep -q "\[$a\]\$" /proc/self/maps; then
		echo "$vl" | grep -q "[[ ]$a [0-9]" || fail "vdso line lacks $a: $vl"
	fi
done

# Nothing left behind: no test cgroups, no children of ours.
for d in /sys/fs/cgroup/*/criu-check-*; do
	[ -e "$d" ] && fail "left a cgroup behind: $d"
done

echo "PASS"
exit 0
