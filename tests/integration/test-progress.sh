#!/usr/bin/env bash
# Progress off a terminal (issue 19 item 3): a long copy reports one
# line when it begins, at most one more every 5 s and a summary, never
# a line per progress event (the copy of a sandbox's rootfs printed
# "copying files" ~130 times into a log). The bar on a terminal is
# checked by the unit test of output.c.
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is not installed"
enc_setup
if ! out=$(enc daemon start 2>&1); then
        echo "1..0 # SKIP the daemon does not start here: $out"
        exit 0
fi
SB=pg$ENC_TAG
on_exit "enc destroy --force $SB"
on_exit "enc destroy --force ${SB}b"

# A rootfs with enough files for the copy to take a while.
make_busybox_rootfs "$ENC_DIR/rootfs" || skip_all "cannot build a busybox rootfs"
mkdir -p "$ENC_DIR/rootfs/usr/share/many"
for d in $(seq 40); do
        mkdir "$ENC_DIR/rootfs/usr/share/many/$d"
        (cd "$ENC_DIR/rootfs/usr/share/many/$d" && seq 1000 | xargs touch)
done
tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/rootfs.tar" . || skip_all "tar failed"
ok "import a base rootfs of ~40000 files" enc -q rootfs import --base "$ENC_DIR/rootfs.tar"

lines_of() { grep -c "$1" "$2"; }

# enclave up: the sandbox's rootfs is copied from the cache.
mkdir -p "$ENC_DIR/proj"
cat >"$ENC_DIR/proj/Enclavefile" <<TOML
[sandbox]
name = "$SB"
bootstrap_method = "cached_rootfs"
TOML
t0=$SECONDS
(cd "$ENC_DIR/proj" && enc up) >"$ENC_DIR/up.out" 2>"$ENC_DIR/up.err"
secs=$((SECONDS - t0))
diag "up took ${secs}s; its progress:"
sed 's/^/#   /' "$ENC_DIR/up.err" | head -20
n=$(lines_of "copying files" "$ENC_DIR/up.err")
max=$((2 + secs / 5))
[ "$n" -ge 1 ] && [ "$n" -le "$max" ] && tap_ok "up: $n 'copying files' lines (at most $max)" ||
        tap_fail "up: $n 'copying files' lines, want 1..$max"
contains "up: the copy ends with a summary" "$(cat "$ENC_DIR/up.err")" "copying files: done"
lacks "no carriage returns off a terminal" "$(tr '\r' '@' <"$ENC_DIR/up.err")" "@"

# enclave create: the same.
t0=$SECONDS
enc create "${SB}b" --bootstrap-method cached_rootfs >"$ENC_DIR/create.out" 2>"$ENC_DIR/create.err"
secs=$((SECONDS - t0))
n=$(lines_of "copying files" "$ENC_DIR/create.err")
max=$((2 + secs / 5))
[ "$n" -ge 1 ] && [ "$n" -le "$max" ] && tap_ok "create: $n 'copying files' lines (at most $max)" ||
        tap_fail "create: $n 'copying files' lines, want 1..$max" "$(head -20 "$ENC_DIR/create.err")"
contains "create: the copy ends with a summary" "$(cat "$ENC_DIR/create.err")" "copying files: done"

# -q: nothing at all.
ok "destroy" enc -q destroy "${SB}b"
enc -q create "${SB}b" --bootstrap-method cached_rootfs >"$ENC_DIR/q.out" 2>"$ENC_DIR/q.err"
is "-q prints no progress" "$(cat "$ENC_DIR/q.err" "$ENC_DIR/q.out")" ""
done_testing
