#!/usr/bin/env bash
# `make demo`: Berth connected to a local library to explore, without touching your own
# settings or keychain. Starts Berth's Library API double on 127.0.0.1 seeded with a few
# images, then opens the app in a private D-Bus session with a throw-away keychain and
# config, already logged in to that library as user "demo".
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(realpath "${CARGO_TARGET_DIR:-target}")/debug
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-demo.XXXXXX")
trap 'kill "${double_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

# Seed images are made here with berth itself (no download needed).
mkdir -p "$work/seed"
for name in hello tools; do
  printf 'Bootstrap: scratch\n%%labels\n  demo %s\n' "$name" > "$work/$name.def"
  "$target/berth" sif new "$work/seed/$name.sif"
  "$target/berth" sif add "$work/seed/$name.sif" "$work/$name.def" --datatype 1 --groupid 1 >/dev/null
done
cat > "$work/seed/seed.json" <<JSON
{"users": [{"name": "demo", "token": "demo-token"}],
 "images": [
  {"ref": "library://demo/examples/hello:latest", "file": "$work/seed/hello.sif", "arch": "amd64", "tags": ["latest", "1.0"], "signed": false},
  {"ref": "library://demo/examples/tools:2024", "file": "$work/seed/tools.sif", "arch": "arm64", "tags": ["2024"], "signed": false}
 ]}
JSON
"$target/berth-library-double" --flavour sylabs --seed "$work/seed" > "$work/url" &
double_pid=$!
for _ in $(seq 1 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -n1 "$work/url")
echo "demo: library at $url (user demo); config and keychain are temporary"
printf 'demo-token\n' > "$work/token"
export BERTH_CONFIG_DIR="$work/config" APPTAINER_KEYSDIR="$work/keys"
sh crates/core/tests/with-keyring.sh sh -c "
  '$target/berth' remote add demo '$url' --insecure --default >/dev/null &&
  '$target/berth' remote login demo --tokenfile '$work/token' &&
  exec '$target/berth-app'"
