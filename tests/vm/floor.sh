#!/usr/bin/env bash
# Below the floor: boot a kernel Enclave cannot run workspaces on
# (default bullseye's 5.10: no idmapped mounts) and check that the daemon
# refuses to start, at once, naming what the kernel lacks; ends with
# "N passed, N failed". Usage: floor.sh [SUITE]
. "$(dirname "$0")/lib.sh"
suite=${1:-bullseye}
root=$(cd "$VM_DIR/../.." && pwd)
make -C "$root" --no-print-directory build-all BUILD=build >/dev/null || vm_die "the host build failed"
exec "$VM_DIR/run.sh" --kernel "$suite" --timeout 900 -- '
d=$(mktemp -d)
printf "socket = \"%s/s\"\npid_file = \"%s/pid\"\nstate_dir = \"%s/state\"\nbridge = \"enctfloor\"\nsubnet = \"10.231.250.0/24\"\n" "$d" "$d" "$d" >"$d/config.toml"
out=$(timeout 60 build/enclave daemon run --config "$d/config.toml" 2>&1); rc=$?
echo "# kernel $(uname -r): daemon run exited $rc: $out"
p=0 f=0
check() { if eval "$2"; then echo "ok - $1"; p=$((p + 1)); else echo "not ok - $1"; f=$((f + 1)); fi; }
check "the daemon refuses to start" "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
check "it says the kernel cannot run workspaces" "grep -q \"this kernel cannot run Enclave workspaces\" <<<\"\$out\""
check "it names the missing feature" "grep -qi \"idmapped\" <<<\"\$out\""
check "it leaves no socket behind" "[ ! -e $d/s ]"
echo "$p passed, $f failed"
[ $f -eq 0 ]'
