#!/usr/bin/env bash
# make check-vm: build on the host, boot Debian's kernel in the bench's
# guest and run a set of test suites there; ends with tests/run.sh's
# "N passed, N failed, N skipped" line and exits with its status.
#   ENCLAVE_VM_KERNEL  suite whose kernel boots (default bookworm: 6.1)
#   ENCLAVE_VM_TESTS   suite name patterns for tests/run.sh; "all" runs
#                      every suite. Default: the CI set below.
. "$(dirname "$0")/lib.sh"

# Unit tests plus the integration suites that touch what differs between
# kernels: overlay and idmapped mounts, cgroups, hardening and LSMs,
# networking, snapshots (see tests/vm/README.md for timings).
CI_TESTS='unit/ integration/itest-runtime integration/itest-exec integration/itest-overlay
integration/itest-cgroup integration/test-cgroup-tree integration/itest-hardening integration/test-apparmor
integration/itest-net integration/itest-snapshot integration/test-exec integration/test-workspace$
integration/test-snapshot'

root=$(cd "$VM_DIR/../.." && pwd)
tests=${ENCLAVE_VM_TESTS:-$CI_TESTS}
[ "$tests" = all ] && tests=
build=${BUILD:-build}
make -C "$root" --no-print-directory build-all BUILD="$build" >/dev/null || vm_die "the host build failed"
cmd="BUILD=$(printf %q "$build") tests/run.sh"
for t in $tests; do cmd+=" $(printf %q "$t")"; done
exec "$VM_DIR/run.sh" --kernel "${ENCLAVE_VM_KERNEL:-bookworm}" --timeout "${ENCLAVE_VM_TIMEOUT:-5400}" -- "$cmd"
