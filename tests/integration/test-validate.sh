#!/usr/bin/env bash
# enclave init and enclave validate: no daemon and no root needed.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/enctest-validate.XXXXXX)
on_exit "rm -rf '$T'"
unset ENCLAVE_CONFIG ENCLAVE_SOCKET

# ---- init ----
mkdir "$T/my.project"
cd "$T/my.project" || exit 1
out=$("$ENCLAVE" init 2>&1); rc=$?
is "init exits 0" "$rc" 0
ok "init wrote ./Enclavefile" test -s Enclavefile
contains "init names the sandbox after the directory" "$out" 'sandbox "my-project"'
scaffold=$(cat Enclavefile)
for key in name suite bootstrap_method mirror memory_mb cpu_percent max_procs setup \
        run workspace_dir path cpu_seconds max_open_files disk_mb auth env_tokens ports env; do
        contains "scaffold shows '$key'" "$scaffold" "$key"
done
out=$("$ENCLAVE" validate 2>&1); rc=$?
is "the scaffold validates" "$rc" 0
contains "validate prints the sandbox" "$out" "sandbox my-project"
contains "validate fills in the default suite" "$out" "bookworm"
contains "validate fills in the default mirror" "$out" "http://deb.debian.org/debian"

before=$(sha256sum Enclavefile)
out=$("$ENCLAVE" init 2>&1); rc=$?
is "init refuses to overwrite (exit 1)" "$rc" 1
contains "init says the file exists" "$out" "already exists"
is "the existing file is unchanged" "$(sha256sum Enclavefile)" "$before"

mkdir "$T/dangling" && cd "$T/dangling" && ln -s "$T/elsewhere" Enclavefile
"$ENCLAVE" init >/dev/null 2>&1; is "init refuses a dangling symlink" "$?" 1
ok "nothing was created through the symlink" test ! -e "$T/elsewhere"
"$ENCLAVE" init extra >/dev/null 2>&1; is "init with an argument is a usage error" "$?" 2

# ---- missing files ----
mkdir "$T/empty" && cd "$T/empty"
out=$("$ENCLAVE" validate 2>&1); rc=$?
is "validate without an Enclavefile exits 1" "$rc" 1
contains "missing Enclavefile points at enclave init" "$out" "enclave init"
out=$("$ENCLAVE" validate "$T/nope/Enclavefile" 2>&1); rc=$?
is "validate of a missing FILE exits 1" "$rc" 1
contains "missing FILE is named" "$out" "$T/nope/Enclavefile: not found"
"$ENCLAVE" validate a b >/dev/null 2>&1; is "two files are a usage error" "$?" 2
"$ENCLAVE" validate --bogus >/dev/null 2>&1; is "unknown option is a usage error" "$?" 2
ok "validate --help" "$ENCLAVE" validate --help

# ---- a good file, JSON ----
mkdir -p "$T/good/src/app"
cat >"$T/good/Enclavefile" <<'EOF_GOOD'
[sandbox]
name = "good"
memory_mb = 4096
setup = ["apt-get install -y git", """
set -e
echo done
"""]

[workspace.api]
run = "./serve"
workspace_dir = "src/app"
ports = ["127.0.0.1:18080:8080"]
env = { MODE = "dev" }

[workspace.shell]
EOF_GOOD
cd "$T"
json=$("$ENCLAVE" --json validate good/Enclavefile); rc=$?
is "validate --json exits 0" "$rc" 0
py() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$json"; }
is "json: sandbox name" "$(py 'd["sandbox"]["name"]')" good
is "json: default suite" "$(py 'd["sandbox"]["suite"]')" bookworm
is "json: default bootstrap_method" "$(py 'd["sandbox"]["bootstrap_method"]')" debootstrap
is "json: memory_mb" "$(py 'd["sandbox"]["memory_mb"]')" 4096
is "json: unset cap is null" "$(py 'd["sandbox"]["cpu_percent"]')" None
is "json: multi-line setup kept" "$(py 'd["sandbox"]["setup"][1]')" "$(printf 'set -e\necho done')"
is "json: setup digest is sha256 hex" "$(py 'len(d["sandbox"]["setup_digest"])')" 64
is "json: two workspaces in order" "$(py '",".join(w["name"] for w in d["workspaces"])')" "api,shell"
is "json: workspace_dir resolved against the file" "$(py 'd["workspaces"][0]["workspace_dir"]')" "$T/good/src/app"
is "json: port host" "$(py 'd["workspaces"][0]["ports"][0]["host_port"]')" 18080
is "json: port spec normalised" "$(py 'd["workspaces"][0]["ports"][0]["spec"]')" "127.0.0.1:18080:8080/tcp"
is "json: env" "$(py 'd["workspaces"][0]["env"]["MODE"]')" dev
is "json: idle workspace has null run" "$(py 'd["workspaces"][1]["run"]')" None
is "json: path is absolute" "$(py 'd["path"]')" "$T/good/Enclavefile"
out=$("$ENCLAVE" -q validate good/Enclavefile 2>&1); rc=$?
is "-q validate exits 0" "$rc" 0
is "-q validate prints nothing" "$out" ""

# ---- a bad file: every problem, FILE:LINE:COL, suggestions ----
mkdir "$T/bad"
cat >"$T/bad/Enclavefile" <<'EOF_BAD'
[sandbox]
name = "bad name"
suite = "bookwrom"

[workspace.api]
memroy_mb = 5
cpu_percent = 150
ports = ["0.0.0.0:80:80", "127.0.0.1:9000:80"]
env_tokens = ["AWS_TOKEN"]

[workspace.web]
name = "api"
ports = ["127.0.0.1:9000:81"]
workspace_dir = "./missing"
EOF_BAD
cd "$T/bad"
err=$("$ENCLAVE" validate 2>&1 >/dev/null); rc=$?
is "invalid file exits 1" "$rc" 1
contains "typo suggestion" "$err" "Enclavefile:6:1: unknown key 'memroy_mb' in [workspace.api]; did you mean 'memory_mb'?"
contains "bad name" "$err" "Enclavefile:2:8: sandbox name 'bad name' is not valid"
contains "bad suite" "$err" "Enclavefile:3:9: unknown suite 'bookwrom'; did you mean 'bookworm'?"
contains "range" "$err" "Enclavefile:7:15: 'cpu_percent' must be between 1 and 100"
contains "loopback only" "$err" "Enclavefile:8:10: port '0.0.0.0:80:80' binds '0.0.0.0'"
contains "token names" "$err" "Enclavefile:9:15: unknown token variable 'AWS_TOKEN'"
contains "duplicate name" "$err" "Enclavefile:12:8: workspace name 'api' is already used at Enclavefile:5:12"
contains "duplicate host port" "$err" "Enclavefile:13:10: host port 9000 is already published by workspace 'api'"
contains "missing workspace_dir" "$err" "Enclavefile:14:17: 'workspace_dir' './missing' does not exist"
is "all 9 problems listed" "$(printf '%s\n' "$err" | grep -c '^Enclavefile:[0-9]*:[0-9]*: ')" 9
contains "summary line" "$err" "9 problems found"

json=$("$ENCLAVE" --json validate 2>/dev/null); rc=$?
is "invalid file with --json exits 1" "$rc" 1
is "json errors: count" "$(py 'len(d["errors"])')" 9
is "json errors: valid is false" "$(py 'd["valid"]')" False
is "json errors: first position" "$(py '"%d:%d" % (d["errors"][0]["line"], d["errors"][0]["column"])')" "2:8"
is "json errors: key of the typo" "$(py 'd["errors"][2]["key"]')" "workspace.api.memroy_mb"

printf '[sandbox]\nname = "x"\nsetup = ["a",\n' >"$T/bad/syntax"
err=$("$ENCLAVE" validate "$T/bad/syntax" 2>&1); rc=$?
is "syntax error exits 1" "$rc" 1
contains "syntax error has FILE:LINE:COL" "$err" "$T/bad/syntax:3:9: "

# ---- the shipped examples ----
for ex in quickstart agents; do
        ok "examples/$ex validates" "$ENCLAVE" validate "$REPO/examples/$ex/Enclavefile"
done

done_testing
