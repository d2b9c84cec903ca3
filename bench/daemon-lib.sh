# Shared by the benchmarks that drive a real daemon (stats, workspace-cli,
# workspace-memory, many-workspaces): the test suite's private world
# (tests/integration/lib.sh: own state dir, socket, bridge, subnet and
# firewall table), removed again on exit. Source it from the repository
# root after setting
#   BENCH_NEEDS      commands that must exist (besides the build)
#   BENCH_WS_SETUP   1: also run ws_setup (daemon + busybox sandbox "$SB")
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
for t in ${BENCH_NEEDS:-}; do
        command -v "$t" >/dev/null || { echo "$t is required" >&2; exit 1; }
done
[ -x build/enclave ] && [ -x build/enclave-init ] || { echo "build first (make)" >&2; exit 1; }
export ENCLAVE_INIT=${ENCLAVE_INIT:-$PWD/build/enclave-init}
# lib.sh and ws_setup are written for `set +e` test scripts.
set +e
. tests/integration/lib.sh
. tests/integration/workspace-setup.sh
trap - INT TERM
trap '_run_cleanups' EXIT
[ "${BENCH_WS_SETUP:-0}" = 1 ] && ws_setup >/dev/null
set -e
