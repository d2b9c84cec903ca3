#!/usr/bin/env bash
# TOML parsing speed: Enclave's parser against Python's tomllib on the
# same generated ~5 MB document, in one hyperfine run.
#
#   bench/toml-parse.sh [SIZE_MB]        (default 5; needs hyperfine, python3 >= 3.11)
#
# Compared:
#   toml-decoder --parse-only  parse + free, no output   (parse vs parse with tomllib)
#   toml-decoder               parse + tagged JSON output (the toml-test decoder)
#   python3 tomllib.load       parse into Python objects
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
size_mb=${1:-5}
decoder=$BUILD/toml-decoder

command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }
[ -x "$decoder" ] || { echo "$decoder not built (run make)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/enctest-toml-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
doc=$tmp/bench.toml

# Deterministic generator: every construct the parser handles, in the
# proportions of a large real configuration.
python3 - "$doc" "$size_mb" <<'EOF'
import random, sys
path, size = sys.argv[1], int(float(sys.argv[2]) * 1024 * 1024)
rnd = random.Random(42)
words = ["alpha", "beta", "gamma", "delta", "workspace", "sandbox", "mirror", "überall", "日本"]
out, n, i = [], 0, 0
def emit(s):
    global n
    out.append(s)
    n += len(s.encode())
emit("# generated benchmark document\ntitle = \"TOML parse benchmark\"\n\n")
while n < size:
    i += 1
    w = rnd.choice(words)
    emit(f"[service.s{i}]\n")
    emit(f"name = \"{w}-{i}\\t\\\"quoted\\\" \\u00e9\\U0001F600 line\\n\"\n")
    emit(f"path = 'C:\\Users\\{w}\\{i}'\n")
    emit(f"port = {rnd.randint(1, 65535)}\n")
    emit(f"memory_mb = {rnd.randint(1, 1 << 20):_}\n")
    emit(f"flags = 0x{rnd.getrandbits(32):08x}\n")
    emit(f"ratio = {rnd.random():.6f}\n")
    emit(f"scale = {rnd.random() * 1000:.3e}\n")
    emit(f"enabled = {'true' if i % 2 else 'false'}\n")
    emit(f"created = 2023-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z\n")
    emit(f"day = 2024-{1 + i % 12:02d}-{1 + i % 28:02d}\n")
    emit(f"at = {i % 24:02d}:30:00\n")
    emit(f"limits = {{ cpu = {i % 8 + 1}, pids = {100 + i}, io.weight = {i % 1000} }}\n")
    emit(f"ports = [ {i % 1000}, {i % 1000 + 1}, {i % 1000 + 2} ]\n")
    emit(f"tags = [\n  \"{w}\",  # first\n  'b',\n  \"c\",\n]\n")
    emit(f"env.PATH = \"/usr/bin:/bin\"\nenv.HOME = \"/home/{w}\"\n")
    emit(f"script = \"\"\"\nset -e\necho {w} \\\n  {i}\n\"\"\"\n")
    for j in range(2):
        emit(f"[[service.s{i}.mounts]]\nsource = \"/srv/{w}/{j}\"\ntarget = '/mnt/{j}'\nreadonly = {'true' if j else 'false'}\n")
    emit("\n")
with open(path, "w", encoding="utf-8") as f:
    f.write("".join(out))
EOF

bytes=$(stat -c %s "$doc")
# Both parsers must accept the document before their times mean anything.
"$decoder" --parse-only <"$doc"
python3 -c 'import tomllib,sys; tomllib.load(sys.stdin.buffer)' <"$doc"

echo "document: $bytes bytes, $(wc -l <"$doc") lines; $(nproc) CPUs; $(python3 --version)"
hyperfine --warmup 2 --runs 10 --export-markdown "$tmp/result.md" \
        -n "toml-decoder --parse-only" "$decoder --parse-only < $doc" \
        -n "toml-decoder (JSON output)" "$decoder < $doc > /dev/null" \
        -n "python3 tomllib" "python3 -c 'import tomllib,sys; tomllib.load(sys.stdin.buffer)' < $doc"
echo
cat "$tmp/result.md"
