#!/usr/bin/env bash
# enclave init writes the host's effective defaults (issue 19 item 5):
# suite, bootstrap_method and mirror as config.toml sets them, each
# saying where it came from; the built-in ones without such a note; a
# config.toml that cannot be read stops init before it writes anything.
. "$(dirname "$0")/lib.sh"
D=$(mktemp -d /tmp/enclave-init.XXXXXX)
on_exit "rm -rf '$D'"
mkdir -p "$D/host" "$D/plain" "$D/broken"
cat >"$D/config.toml" <<'TOML'
suite = "trixie"
bootstrap_method = "cached_rootfs"
mirror = "http://127.0.0.1:9/debian"
TOML
: >"$D/empty.toml"
printf 'suite = "trixie"\nbootstrap_method = 7\n' >"$D/bad.toml"

cd "$D/host" || exit 1
ok "init with a config.toml" "$ENCLAVE" --config "$D/config.toml" init
f=$(cat Enclavefile)
contains "the host's suite" "$f" 'suite = "trixie"'
contains "the host's bootstrap_method" "$f" 'bootstrap_method = "cached_rootfs"'
contains "the host's mirror" "$f" 'mirror = "http://127.0.0.1:9/debian"'
contains "each says where it came from" "$f" "# This host's default, from $D/config.toml."
is "three such notes" "$(grep -c "This host's default" Enclavefile)" 3
json=$("$ENCLAVE" --config "$D/config.toml" validate --json)
is "and it validates to them" "$(python3 -c 'import json,sys; s=json.load(sys.stdin)["sandbox"]; print(s["suite"], s["bootstrap_method"], s["mirror"])' <<<"$json")" \
        "trixie cached_rootfs http://127.0.0.1:9/debian"
# ENCLAVE_CONFIG is the same as --config.
rm Enclavefile
ok "init with ENCLAVE_CONFIG" env ENCLAVE_CONFIG="$D/config.toml" "$ENCLAVE" init
contains "ENCLAVE_CONFIG counts" "$(cat Enclavefile)" 'bootstrap_method = "cached_rootfs"'

cd "$D/plain" || exit 1
ok "init with an empty config.toml" "$ENCLAVE" --config "$D/empty.toml" init
f=$(cat Enclavefile)
contains "built-in suite" "$f" 'suite = "bookworm"'
contains "built-in method" "$f" 'bootstrap_method = "debootstrap"'
lacks "no note for built-in defaults" "$f" "This host's default"

cd "$D/broken" || exit 1
out=$("$ENCLAVE" --config "$D/bad.toml" init 2>&1); rc=$?
is "an unreadable config.toml fails init" "$rc" 1
contains "naming the file and line" "$out" "bad.toml:2"
ok "and writes nothing" test ! -e Enclavefile
done_testing
