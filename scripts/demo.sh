#!/bin/bash
# make demo: dump a counting process, show it is gone, restore it, watch it count on.
# Usage: scripts/demo.sh [BUILD_DIR]   (run it under build/scripts/demo/subreaper, as root)
set -u

BUILD=${1:-build}
CRIU=$BUILD/bin/criu
COUNTER=$BUILD/scripts/demo/counter
DIR=$(mktemp -d /tmp/criu-demo.XXXXXX)
LOG=$DIR/counter.log
IMG=$DIR/images
PID=

step() { printf '\n== %s\n' "$*"; }
die() {
	echo "demo FAILED: $*" >&2
	for f in "$IMG/dump.log" "$IMG/restore.log"; do
		[ -f "$f" ] && { echo "--- tail of $f"; tail -n 15 "$f"; }
	done
	exit 1
}
cleanup() {
	if [ -n "$PID" ] && [ -d /proc/$PID ]; then
		kill -9 "$PID" 2>/dev/null
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$CRIU" ] && [ -x "$COUNTER" ] || die "build first: make"

step "start the counter (a number every 0.2 s into $LOG)"
"$COUNTER" "$LOG" </dev/null >/dev/null 2>&1 &
PID=$!
disown "$PID"	# no job report from the shell when the dump kills it
sleep 2
echo "counter runs as pid $PID; last lines of its log:"
tail -n 3 "$LOG" | sed 's/^/    /'

step "criu dump -t $PID -D $IMG"
t0=$(date +%s%N)
"$CRIU" dump -t "$PID" -D "$IMG" -v4 -o dump.log || die "criu dump failed"
t1=$(date +%s%N)
echo "dumped in $(( (t1 - t0) / 1000000 )) ms; images:"
ls -l "$IMG" | sed 's/^/    /'

step "the counter is gone"
for i in $(seq 50); do [ -d /proc/$PID ] || break; sleep 0.1; done
[ -d /proc/$PID ] && die "pid $PID still exists after the dump"
last=$(tail -n 1 "$LOG")
sleep 1
[ "$(tail -n 1 "$LOG")" = "$last" ] || die "the log still grows after the dump"
echo "no pid $PID any more; the log stopped at $last"

step "criu restore -D $IMG -d"
"$CRIU" restore -D "$IMG" -d -v4 -o restore.log --pidfile "$DIR/restored.pid" ||
	die "criu restore failed"
RPID=$(cat "$DIR/restored.pid" 2>/dev/null)
[ "$RPID" = "$PID" ] || die "restored pid '$RPID', expected $PID"
echo "restored as pid $PID"
sleep 2
[ -d /proc/$PID ] || die "the restored counter is gone"

step "it counts on from where it stopped"
tail -n 5 "$LOG" | sed 's/^/    /'
awk -v last="$last" '
	$1 != NR { printf "line %d says %s: the count restarted or jumped\n", NR, $1; bad = 1; exit }
	END { if (!bad && NR <= last) { printf "no new numbers after %d\n", last; bad = 1 }
	      exit bad }' "$LOG" || die "the count did not continue"
echo "numbers 1..$(tail -n 1 "$LOG") without a gap or restart ($last was the last before the dump)"

step "stop it"
kill "$PID"
for i in $(seq 50); do [ -d /proc/$PID ] || break; sleep 0.1; done
[ -d /proc/$PID ] && die "pid $PID did not stop"
PID=
echo "demo OK"
