#!/usr/bin/env bash
# enclave rootfs import|export|fetch through the daemon (SPEC §2, §4):
# the CLI opens/creates the archive and passes the fd; import refuses an
# existing cache without --replace and every malicious archive (nothing
# is left behind); export/import round trips through .tar.gz and
# .tar.zst give identical trees; fetch downloads from a local HTTP
# server; bad input is a usage error that changes nothing.
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "$PY is needed to build hostile archives and serve HTTP"
enc_setup
# The test's HTTP server is on 127.0.0.1, which a fetch reaches only
# when root allows it (docs/security.md).
echo 'fetch_allow = ["127.0.0.1/32"]' >>"$ENC_CONFIG"
if ! out=$(enc daemon start 2>&1); then
        echo "1..0 # SKIP the daemon does not start here: $out"
        exit 0
fi
CACHE=$ENC_STATE/sandboxes/rootfs-cache

RF=$ENC_DIR/busybox-rootfs
make_busybox_rootfs "$RF"
echo "enctest-$$" >"$RF/etc/marker"
mkfifo "$RF/tmp/fifo"
ln "$RF/etc/marker" "$RF/etc/marker-hardlink"
chmod 4755 "$RF/bin/busybox"
tar -C "$RF" -cf "$ENC_DIR/bb.tar" .

# A listing that covers type, mode, owner, size, link target and content.
tree_digest() {
        (cd "$1" && find . -printf '%p %y %m %U:%G %s %l\n' | sort
         find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# ---- import ----
out=$(enc rootfs import --base "$ENC_DIR/bb.tar" 2>&1); rc=$?
is "import --base" "$rc" 0
contains "import reports the entries" "$out" "imported the base rootfs cache"
is "the cache is the archived tree" "$(tree_digest "$CACHE/base")" "$(tree_digest "$RF")"
is "the cache is root's" "$(stat -c %u "$CACHE/base")" 0
out=$(enc rootfs import --base "$ENC_DIR/bb.tar" 2>&1); rc=$?
is "import onto an existing cache without --replace fails" "$rc" 1
contains "and says to add --replace" "$out" "--replace"
echo changed >"$RF/etc/marker"
tar -C "$RF" -cf "$ENC_DIR/bb2.tar" .
ok "import --replace" enc -q rootfs import --base --replace "$ENC_DIR/bb2.tar"
is "the replaced cache has the new content" "$(cat "$CACHE/base/etc/marker")" changed
is "no staging left in tmp/" "$(ls "$ENC_STATE/tmp" | wc -l)" 0

# ---- export / import round trips ----
for ext in tar.gz tar.zst tar; do
        out=$(enc rootfs export --base --output "$ENC_DIR/out.$ext" 2>&1); rc=$?
        is "export --base to .$ext" "$rc" 0
        is "the .$ext archive is 0600" "$(stat -c %a "$ENC_DIR/out.$ext")" 600
done
is "the .tar.gz is gzip" "$(head -c2 "$ENC_DIR/out.tar.gz" | od -An -tx1 | tr -d ' ')" 1f8b
is "the .tar.zst is zstd" "$(head -c4 "$ENC_DIR/out.tar.zst" | od -An -tx1 | tr -d ' ')" 28b52ffd
ok "import the .tar.gz as --suite trixie" enc -q rootfs import --suite trixie "$ENC_DIR/out.tar.gz"
ok "import the .tar.zst as --suite sid" enc -q rootfs import --suite sid "$ENC_DIR/out.tar.zst"
base=$(tree_digest "$CACHE/base")
is "gzip round trip is exact" "$(tree_digest "$CACHE/trixie")" "$base"
is "zstd round trip is exact" "$(tree_digest "$CACHE/sid")" "$base"
is "setuid bit kept" "$(stat -c %a "$CACHE/sid/bin/busybox")" 4755
is "hard link kept" "$(stat -c %h "$CACHE/sid/etc/marker")" 2
ok "fifo kept" test -p "$CACHE/sid/tmp/fifo"
out=$(enc rootfs export --base --output "$ENC_DIR/out.tar.gz" 2>&1); rc=$?
is "export onto an existing file fails" "$rc" 1
contains "and says why" "$out" "already exists"
out=$(enc rootfs export --suite bullseye --output "$ENC_DIR/none.tar" 2>&1); rc=$?
is "export of a missing cache fails" "$rc" 1
contains "and names the cache" "$out" "bullseye"
ok "a failed export leaves no file" test ! -e "$ENC_DIR/none.tar"
enc rootfs export --base --output "$ENC_DIR/out.zip" >/dev/null 2>&1
is "export to an unknown format is a usage error" "$?" 2
ok "and creates nothing" test ! -e "$ENC_DIR/out.zip"
mkdir -m 700 "$ENC_DIR/private"
chown 65534:65534 "$ENC_DIR/private"
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" \
        rootfs export --base --output "$ENC_DIR/private/x.tar" 2>&1); rc=$?
is "a non-root user cannot reach the root-only socket" "$rc" 1
ok "and nothing was written" test ! -e "$ENC_DIR/private/x.tar"

# ---- hostile archives: refused, nothing kept ----
"$PY" - "$ENC_DIR" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def make(name, members):
    with tarfile.open(f"{d}/{name}.tar", "w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
def f(path, data=b"x\n"):
    i = tarfile.TarInfo(path); i.size = len(data); return (i, data)
def sym(path, target):
    i = tarfile.TarInfo(path); i.type = tarfile.SYMTYPE; i.linkname = target; return (i, None)
def hard(path, target):
    i = tarfile.TarInfo(path); i.type = tarfile.LNKTYPE; i.linkname = target; return (i, None)
make("dotdot", [f("./etc/ok"), f("../enctest-evil-dotdot")])
make("absolute", [f("/tmp/enctest-evil-absolute")])
make("symlink-escape", [sym("./escape", "/tmp"), f("./escape/enctest-evil-symlink")])
make("hardlink-escape", [hard("./passwd", "../../../../../../etc/passwd")])
make("symlink-dotdot", [sym("./up", "../../../../.."), f("./up/tmp/enctest-evil-updir")])
PY
for bad in dotdot absolute symlink-escape hardlink-escape symlink-dotdot; do
        out=$(enc rootfs import --suite oldstable "$ENC_DIR/$bad.tar" 2>&1); rc=$?
        is "hostile archive '$bad' is refused" "$rc" 1
        ok "'$bad' left no cache" test ! -e "$CACHE/oldstable"
done
ok "nothing escaped the staging dir" test -z "$(ls /tmp/enctest-evil-* "$ENC_STATE"/sandboxes/enctest-evil-* "$ENC_STATE"/enctest-evil-* 2>/dev/null)"
is "no staging left in tmp/ after refusals" "$(ls "$ENC_STATE/tmp" | wc -l)" 0
printf 'this is not a tar archive' >"$ENC_DIR/junk.tar"
out=$(enc rootfs import --suite stable "$ENC_DIR/junk.tar" 2>&1); rc=$?
is "garbage is refused" "$rc" 1
ok "garbage left no cache" test ! -e "$CACHE/stable"

# ---- fetch from a local HTTP server ----
PORT=$(( 20000 + $$ % 20000 ))
mkdir -p "$ENC_DIR/www"
cp "$ENC_DIR/out.tar.gz" "$ENC_DIR/www/rootfs.tar.gz"
(cd "$ENC_DIR/www" && exec "$PY" -m http.server --bind 127.0.0.1 "$PORT" >/dev/null 2>&1) &
http_pid=$!
on_exit "kill $http_pid"
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
out=$(enc rootfs fetch --suite bullseye "http://127.0.0.1:$PORT/rootfs.tar.gz" 2>&1); rc=$?
is "fetch --suite bullseye over http" "$rc" 0
contains "fetch reports the entries" "$out" "fetched the bullseye rootfs cache"
is "fetched tree is exact" "$(tree_digest "$CACHE/bullseye")" "$base"
out=$(enc rootfs fetch --suite bullseye "http://127.0.0.1:$PORT/rootfs.tar.gz" 2>&1); rc=$?
is "fetch onto an existing cache without --replace fails" "$rc" 1
contains "before downloading, with the fix" "$out" "--replace"
out=$(enc rootfs fetch --suite testing "http://127.0.0.1:$PORT/missing.tar.gz" 2>&1); rc=$?
is "fetch of a missing URL fails" "$rc" 1
contains "and says 404" "$out" "404"
ok "a failed fetch left no cache" test ! -e "$CACHE/testing"
ok "fetch --replace" enc -q rootfs fetch --suite bullseye --replace "http://127.0.0.1:$PORT/rootfs.tar.gz"

# ---- usage errors ----
enc rootfs import "$ENC_DIR/bb.tar" >/dev/null 2>&1; is "import without --suite/--base is a usage error" "$?" 2
enc rootfs import --suite bookworm --base "$ENC_DIR/bb.tar" >/dev/null 2>&1; is "both --suite and --base is a usage error" "$?" 2
enc rootfs import --suite potato "$ENC_DIR/bb.tar" >/dev/null 2>&1; is "an unknown suite is a usage error" "$?" 2
enc rootfs import --suite bookworm >/dev/null 2>&1; is "import without an archive is a usage error" "$?" 2
enc rootfs fetch --suite bookworm ftp://127.0.0.1/x.tar >/dev/null 2>&1; is "an ftp URL is a usage error" "$?" 2
enc rootfs export --base >/dev/null 2>&1; is "export without --output is a usage error" "$?" 2
out=$(enc rootfs import --suite bookworm "$ENC_DIR/nonexistent.tar" 2>&1); rc=$?
is "a missing archive fails" "$rc" 1
contains "and names it" "$out" "nonexistent.tar"
ok "no bookworm cache was made by any of them" test ! -e "$CACHE/bookworm"

ok "daemon stops" enc daemon stop
done_testing
