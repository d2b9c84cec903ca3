#!/usr/bin/env bash
# What is generated from the CLI's command tables (issue 19 item 7) and
# the table of limits (src/spec/limits.h): docs/commands.md and
# docs/limits.md must match them (a stale copy fails here; run
# 'make docs'), every man page renders without warnings, every command
# answers --help, and the bash, zsh and fish completions offer commands,
# options and values through 'enclave __complete' (names from the
# daemon are in test-complete.sh).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# ---- docs/commands.md ----
if diff -u "$ROOT/docs/commands.md" <("$ENCLAVE" __gen markdown) >"${TMPDIR:-/tmp}/commands-md.$$.diff"; then
        tap_ok "docs/commands.md matches the command tables"
else
        tap_fail "docs/commands.md is stale: run 'make docs'" "$(head -20 "${TMPDIR:-/tmp}/commands-md.$$.diff")"
fi
rm -f "${TMPDIR:-/tmp}/commands-md.$$.diff"

# ---- docs/limits.md ----
if diff -u "$ROOT/docs/limits.md" <("$ENCLAVE" __gen limits) >"${TMPDIR:-/tmp}/limits-md.$$.diff"; then
        tap_ok "docs/limits.md matches the table of limits"
else
        tap_fail "docs/limits.md is stale: run 'make docs'" "$(head -20 "${TMPDIR:-/tmp}/limits-md.$$.diff")"
fi
rm -f "${TMPDIR:-/tmp}/limits-md.$$.diff"

# ---- every command has --help ----
bad=
while read -r path; do
        # shellcheck disable=SC2086
        out=$("$ENCLAVE" ${path#enclave } --help 2>&1) && [[ $out == "Usage: $path "* ]] || bad="$bad [$path]"
done < <(sed -n 's/^### \(enclave .*\)$/\1/p' "$ROOT/docs/commands.md")
is "every documented command answers --help with its usage" "$bad" ""
n=$(grep -c '^### enclave ' "$ROOT/docs/commands.md")
[ "$n" -gt 50 ] && tap_ok "docs/commands.md documents $n commands" || tap_fail "only $n commands documented"

# ---- man pages ----
pages=$("$ENCLAVE" __gen man)
contains "man pages: enclave(1)" "$pages" "enclave"
contains "man pages: one per group" "$pages" "enclave-workspace"
for p in $pages; do
        page=$("$ENCLAVE" __gen man "$p")
        contains "$p has a NAME section" "$page" ".SH NAME"
        if command -v man >/dev/null; then
                warnings=$(printf '%s\n' "$page" | MANWIDTH=80 man --warnings -l -Tutf8 - 2>&1 >/dev/null)
                is "$p renders without warnings" "$warnings" ""
        fi
done
"$ENCLAVE" __gen man enclave-nosuch >/dev/null 2>&1; is "an unknown page is a usage error" "$?" 2

# ---- __complete ----
comp() { "$ENCLAVE" __complete -- "$@" 2>&1; }
contains "commands" "$(comp work)" "workspace	manage workspaces"
contains "subcommands" "$(comp workspace ex)" "exec	run a command"
contains "options" "$(comp create --su)" "--suite	"
contains "global options too" "$(comp workspace list --js)" "--json"
lacks "hidden options stay hidden" "$(comp workspace list --)" "--sandbox	"
is "choices of an option" "$(comp create --bootstrap-method '' | sort | tr '\n' ' ')" "cached_rootfs debootstrap "
is "choices after '='" "$(comp create --bootstrap-method=c)" "--bootstrap-method=cached_rootfs"
is "choices of an argument" "$(comp auth login g)" "github"
is "a file argument asks the shell" "$(comp validate '')" ":file"
is "exec: the command after --" "$(comp workspace exec sb ws -- '')" ":command"
is "exec: the command's arguments are files" "$(comp workspace exec sb ws ls -l '')" ":file"
is "exec: options of the command are its own" "$(comp workspace exec sb ws ls --j)" ":file"
is "an unknown command offers nothing" "$(comp frobnicate '')" ""
# No daemon at this socket: no names, no error, no waiting.
t0=$(date +%s%N)
out=$(ENCLAVE_SOCKET=/nonexistent/enclave.sock "$ENCLAVE" __complete -- start '' 2>&1); rc=$?
t1=$(date +%s%N)
is "without a daemon: nothing, silently" "$out" ""
is "without a daemon: exit 0" "$rc" 0
diag "completion without a daemon took $(( (t1 - t0) / 1000000 )) ms"

# ---- the shells ----
BIN=$(mktemp -d /tmp/enclave-comp.XXXXXX)
on_exit "rm -rf '$BIN'"
ln -s "$ENCLAVE" "$BIN/enclave"
export PATH="$BIN:$PATH"
bash_complete() {
        bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                 _enclave; printf "%s\n" "${COMPREPLY[@]}"' _ "$ROOT/completions/enclave.bash" "$@"
}
ok "bash: the script parses" bash -n "$ROOT/completions/enclave.bash"
is "bash: subcommands" "$(bash_complete enclave workspace cr)" "create"
is "bash: option values" "$(bash_complete enclave create --suite bo)" "bookworm"
contains "bash: files" "$(bash_complete enclave validate "$ROOT/completions/enclave.b")" "completions/enclave.bash"
if [ -f /usr/share/bash-completion/bash_completion ]; then
        out=$(bash -c 'source /usr/share/bash-completion/bash_completion; source "$1"
                COMP_WORDS=(enclave create --suite=bo); COMP_CWORD=2; COMP_LINE="enclave create --suite=bo"
                COMP_POINT=${#COMP_LINE}; _enclave; printf "%s\n" "${COMPREPLY[@]}"' _ "$ROOT/completions/enclave.bash")
        is "bash-completion: --suite=bo gives the value after '='" "$out" "bookworm"
else
        tap_skip "bash-completion: --opt=value" "bash-completion is not installed"
fi
if command -v zsh >/dev/null; then
        ok "zsh: the script parses" zsh -n "$ROOT/completions/_enclave"
        out=$(zsh -c 'words=(enclave workspace e); CURRENT=3
                _describe() { print -l -- "${(@P)${@[-1]}}"; }; compdef() { :; }
                source "$1"; _enclave' _ "$ROOT/completions/_enclave" 2>&1)
        is "zsh: subcommands with descriptions" "$out" "enter:open a shell in a workspace
exec:run a command in a workspace"
else
        tap_skip "zsh completion" "zsh is not installed"
fi
if command -v fish >/dev/null; then
        ok "fish: the script parses" fish --no-execute "$ROOT/completions/enclave.fish"
        out=$(fish -c 'source $argv[1]; complete -C "enclave workspace cr"' "$ROOT/completions/enclave.fish" 2>&1)
        is "fish: subcommands with descriptions" "$out" "create	create a workspace"
        out=$(fish -c 'source $argv[1]; complete -C "enclave create --suite=bo"' "$ROOT/completions/enclave.fish" 2>&1)
        is "fish: --opt=value" "$out" "--suite=bookworm"
else
        tap_skip "fish completion" "fish is not installed"
fi
done_testing
