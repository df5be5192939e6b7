#!/usr/bin/env bash
# bench/signing: sign and verify a 1 GiB image with berth and with the reference Go library
# (tests/interop/sifsig over Debian's sylabs/sif 2.8.3), and hash it with sha256sum, all on
# the same file in one run; prints ratios and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out}
size_mib=${BENCH_SIZE_MIB:-1024}
mkdir -p "$out"
for tool in hyperfine /usr/bin/time go; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install hyperfine time golang-go golang-github-sylabs-sif-dev)" >&2; exit 1; }
done
cargo build -q --release -p berth-cli
berth=$(realpath "${CARGO_TARGET_DIR:-target}/release/berth")
tests/interop/build.sh "$out" >/dev/null
sifsig=$(realpath "$out/sifsig")
testdata=${BERTH_TESTDATA:-../shared/testdata/sif}
key=$(realpath "$testdata/keys/sylabs-sif/private.asc")
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-sign.XXXXXX")
trap 'rm -rf "$work"' EXIT
export APPTAINER_KEYSDIR=$work/keys

# The image: a definition file and a primary partition of random bytes (hashing cost does
# not depend on content, but random data cannot be compressed or deduplicated away).
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/part.bin"
printf 'Bootstrap: docker\nFrom: alpine\n' > "$work/def"
"$berth" sif new "$work/base.sif"
"$berth" sif add "$work/base.sif" "$work/def" --datatype 1 --groupid 1
"$berth" sif add "$work/base.sif" "$work/part.bin" --datatype 4 --parttype 2 --partfs 1 --partarch 2 --groupid 1
rm "$work/part.bin"
"$berth" key import "$key" >/dev/null

cd "$work"
hyperfine -N --runs 5 --warmup 1 --export-json "$OLDPWD/$out/signing-sign.json" \
  --prepare "cp base.sif signed-ref.sif" "$sifsig sign --key $key signed-ref.sif" \
  --prepare "cp base.sif signed-berth.sif" "$berth sign --keyidx 0 signed-berth.sif" >/dev/null
hyperfine -N --runs 5 --warmup 1 --export-json "$OLDPWD/$out/signing-verify.json" \
  "$sifsig verify --keyring $key signed-ref.sif" \
  "$berth verify --keyring $key signed-berth.sif" \
  "sha256sum base.sif" >/dev/null
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
cp base.sif rss-ref.sif; cp base.sif rss-berth.sif
rss_sign_ref=$(rss "$sifsig" sign --key "$key" rss-ref.sif)
rss_sign_berth=$(rss "$berth" sign --keyidx 0 rss-berth.sif)
rss_verify_ref=$(rss "$sifsig" verify --keyring "$key" rss-ref.sif)
rss_verify_berth=$(rss "$berth" verify --keyring "$key" rss-berth.sif)
cd "$OLDPWD"

python3 - "$out" "$size_mib" "$rss_sign_ref" "$rss_sign_berth" "$rss_verify_ref" "$rss_verify_berth" <<'PY' | tee "$out/signing.txt"
import json, sys
out, size = sys.argv[1], sys.argv[2]
rs, rb, vr, vb = (int(x) // 1024 for x in sys.argv[3:7])
s = [r["median"] for r in json.load(open(f"{out}/signing-sign.json"))["results"]]
v = [r["median"] for r in json.load(open(f"{out}/signing-verify.json"))["results"]]
print(f"image: {size} MiB, median of 5 runs; ratio = reference time / berth time (>1: berth faster)")
print(f"sign    reference {s[0]:7.2f} s   berth {s[1]:7.2f} s   ratio {s[0]/s[1]:5.2f}x   peak RSS {rs} MiB vs {rb} MiB")
print(f"verify  reference {v[0]:7.2f} s   berth {v[1]:7.2f} s   ratio {v[0]/v[1]:5.2f}x   peak RSS {vr} MiB vs {vb} MiB")
print(f"sha256sum of the same file {v[2]:7.2f} s: berth verify / sha256sum = {v[1]/v[2]:5.2f}")
PY
