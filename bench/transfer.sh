#!/usr/bin/env bash
# bench/transfer: push and pull a 1 GiB image over loopback against Berth's Library API
# double, with berth and with the reference Go library client (bench/transfer-go over
# Debian's apptainer/container-library-client), and download it with curl, all in one run;
# prints ratios, peak memory and the targets.
#
# The double runs as the Sylabs flavour with --redirect-downloads: pulls answer 303 to a
# ranged storage URL, the only mode in which the Go client downloads in parallel, so the
# reference runs at its best. Berth's settings come from the environment as usual
# (BERTH_UPLOAD_CONCURRENCY, APPTAINER_DOWNLOAD_CONCURRENCY, APPTAINER_DOWNLOAD_PART_SIZE);
# the Go client uses Apptainer's defaults (3 downloads of 5 MiB parts). curl is one stream.
set -euo pipefail
cd "$(dirname "$0")/.."
# berth keeps the token in the system keychain: run in a private D-Bus session with a
# throw-away, unlocked gnome-keyring.
if [ -z "${BERTH_KEYRING_SESSION:-}" ]; then
  exec sh crates/core/tests/with-keyring.sh bench/transfer.sh "$@"
fi
out=$(realpath -m "${BENCH_OUT:-bench/out}")
size_mib=${BENCH_SIZE_MIB:-1024}
runs=${BENCH_RUNS:-3}
case "$size_mib:$runs" in
  *[!0-9:]* | :* | *: | 0* | *:0*) echo "bench: BENCH_SIZE_MIB and BENCH_RUNS must be positive integers" >&2; exit 2 ;;
esac
mkdir -p "$out"
for tool in hyperfine /usr/bin/time go curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install hyperfine time golang-go golang-github-apptainer-container-library-client-dev curl)" >&2; exit 1; }
done
cargo build -q --release -p berth-cli
cargo build -q --release -p berth-testkit --bin berth-library-double
berth=$(realpath "${CARGO_TARGET_DIR:-target}/release/berth")
double=$(realpath "${CARGO_TARGET_DIR:-target}/release/berth-library-double")
crates/testkit/tests/golib/build.sh "$out" bench/transfer-go transfer-go >/dev/null
tgo=$out/transfer-go

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-transfer.XXXXXX")
cleanup() {
  if [ -n "${double_pid:-}" ]; then
    kill "$double_pid" 2>/dev/null || true
    wait "$double_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# At most: the image, the library's copy and its upload parts, three pulled copies and a
# partial download.
need=$((size_mib * 8))
avail=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
if [ "$avail" -lt "$need" ]; then
  echo "bench: $need MiB free needed in $work, $avail MiB there (set TMPDIR or BENCH_SIZE_MIB)" >&2
  exit 1
fi
# Everything below, the double's storage and berth's settings and cache included, lives in
# $work.
export TMPDIR=$work BERTH_CONFIG_DIR=$work/config APPTAINER_KEYSDIR=$work/keys

# The library: one user; its entity exists, the collection is made by the first push.
token=bench-token
mkdir -p "$work/seed"
printf '{"users": [{"name": "bench", "token": "%s"}]}\n' "$token" > "$work/seed/seed.json"
"$double" --flavour sylabs --redirect-downloads --seed "$work/seed" > "$work/url" 2> "$work/double.log" &
double_pid=$!
for _ in $(seq 1 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -n1 "$work/url")
[ -n "$url" ] || { echo "bench: the library double did not start:" >&2; cat "$work/double.log" >&2; exit 1; }
printf '%s\n' "$token" > "$work/token"
"$berth" remote add bench "$url" --insecure --default >/dev/null
"$berth" remote login bench --tokenfile "$work/token" >/dev/null
path=bench/transfer/image
ref=library://$path:latest

# The image: a definition file and a primary partition of random bytes (random data cannot
# be compressed or deduplicated away).
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/part.bin"
printf 'Bootstrap: docker\nFrom: alpine\n' > "$work/def"
"$berth" sif new "$work/image.sif"
"$berth" sif add "$work/image.sif" "$work/def" --datatype 1 --groupid 1
"$berth" sif add "$work/image.sif" "$work/part.bin" --datatype 4 --parttype 2 --partfs 1 --partarch 2 --groupid 1
rm "$work/part.bin"

cd "$work"
# Each command is an array (run directly) and a string for hyperfine -N (which splits it
# like a shell).
str() { printf '%q ' "$@"; }
# Both clients skip the upload when the container already holds these bytes, and every
# push stores a copy: each run starts by deleting the image, which therefore exists
# before every run (the first push below).
go_push=("$tgo" push "$url" "$token" image.sif "$path:latest" amd64)
berth_push=("$berth" push -U image.sif "$ref")
delete=("$berth" delete "$ref" --arch amd64)
# Every run also starts with no dirty pages (sync), so that writing back an earlier run's
# gigabyte does not land in the next one.
prepare_push=$(str sh -c "$(str "${delete[@]}") >/dev/null && sync")
"${berth_push[@]}" >/dev/null 2>&1
hyperfine -N --runs "$runs" --warmup 1 --export-json "$out/transfer-push.json" \
  --prepare "$prepare_push" "$(str "${go_push[@]}")" \
  --prepare "$prepare_push" "$(str "${berth_push[@]}")" >/dev/null

go_pull=("$tgo" pull "$url" "$token" "$path" latest amd64 pulled-go.sif)
go_pull_checked=("$tgo" pull-checked "$url" "$token" "$path" latest amd64 pulled-go-checked.sif)
berth_pull=("$berth" pull --no-cache --no-verify -F pulled-berth.sif "$ref")
curl_pull=(curl -sSfL -o pulled-curl.sif -H "Authorization: Bearer $token" "$url/v1/imagefile/$path:latest?arch=amd64")
hyperfine -N --runs "$runs" --warmup 1 --export-json "$out/transfer-pull.json" --prepare sync \
  "$(str "${go_pull[@]}")" "$(str "${berth_pull[@]}")" "$(str "${curl_pull[@]}")" \
  "$(str "${go_pull_checked[@]}")" >/dev/null

rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
"${delete[@]}" >/dev/null
rss_push_go=$(rss "${go_push[@]}")
"${delete[@]}" >/dev/null
rss_push_berth=$(rss "${berth_push[@]}")
rss_pull_go=$(rss "${go_pull[@]}")
rss_pull_berth=$(rss "${berth_pull[@]}")
rss_pull_curl=$(rss "${curl_pull[@]}")
for f in pulled-go.sif pulled-berth.sif pulled-curl.sif pulled-go-checked.sif; do
  cmp -s image.sif "$f" || { echo "bench: $f differs from the pushed image" >&2; exit 1; }
done
cd "$OLDPWD"

python3 - "$out" "$size_mib" "$runs" "$rss_push_go" "$rss_push_berth" "$rss_pull_go" "$rss_pull_berth" "$rss_pull_curl" \
  "${BERTH_UPLOAD_CONCURRENCY:-4 (default)}" "${APPTAINER_DOWNLOAD_CONCURRENCY:-4 (default)}" \
  "${APPTAINER_DOWNLOAD_PART_SIZE:-8388608 (default)}" <<'PY' | tee "$out/transfer.txt"
import json, sys
out, size, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pg, pb, lg, lb, lc = (int(x) // 1024 for x in sys.argv[4:9])
up_conc, dl_conc, dl_part = sys.argv[9:12]
push = [r["median"] for r in json.load(open(f"{out}/transfer-push.json"))["results"]]
pull = [r["median"] for r in json.load(open(f"{out}/transfer-pull.json"))["results"]]
def t(s): return f"{s:6.2f} s ({size / s:6.0f} MiB/s)"
def ok(good): return "met" if good else "NOT met"
print(f"image: {size} MiB over loopback to Berth's Library API double (Sylabs flavour, downloads by 303 + ranged GETs);")
print(f"median of {runs} runs, each after sync; ratio = Go client time / berth time (>1: berth faster)")
print(f"berth: upload concurrency {up_conc}, download concurrency {dl_conc}, part size {dl_part};"
      " Go client: Apptainer's defaults (downloads 3 x 5 MiB parts)")
r_push, r_pull, pct = push[0] / push[1], pull[0] / pull[1], pull[2] / pull[1] * 100
print(f"push  Go client {t(push[0])}   berth {t(push[1])}   ratio {r_push:5.2f}x (target >= 2: {ok(r_push >= 2)})")
print(f"pull  Go client {t(pull[0])}   berth {t(pull[1])}   ratio {r_pull:5.2f}x (target >= 2: {ok(r_pull >= 2)})")
print(f"      curl (one stream) {t(pull[2])}: berth at {pct:3.0f} % of curl's throughput (target >= 80 %: {ok(pct >= 80)})")
print(f"      Go client + SHA-256 check (Apptainer's cached pull; berth always checks) {t(pull[3])}   ratio {pull[3] / pull[1]:5.2f}x")
print(f"peak RSS  push: Go client {pg} MiB, berth {pb} MiB   pull: Go client {lg} MiB, berth {lb} MiB, curl {lc} MiB"
      f" (berth target < 100 MiB: {ok(max(pb, lb) < 100)})")
PY
