#!/usr/bin/env bash
# bench/inspect: `berth sif list` against the reference `siftool list` on the same 1 GiB and
# 4 GiB images, in one run; prints the ratio. Listing must not read object data, so both
# times should be flat in the image size.
#
# The images are sparse: a real header and descriptor table (definition, JSON, a primary
# partition that fills the image, a signature), extended with truncate.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/out}
mkdir -p "$out"
command -v siftool >/dev/null || { echo "bench: siftool is missing (apt-get install siftool)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
cargo build -q --release -p berth-cli
berth=${CARGO_TARGET_DIR:-target}/release/berth

make_image() { # $1 = path, $2 = partition size in bytes
  python3 - "$1" "$2" <<'PY'
import struct, sys, uuid
path, part_size = sys.argv[1], int(sys.argv[2])
TOTAL, DOFF = 48, 4096
data_off = DOFF + TOTAL * 585
def desc(dtype, oid, group, link, off, size, swp, name, extra=b""):
    d = struct.pack("<i?III", dtype, True, oid, group | 0xF0000000 if group else 0xF0000000, link)
    d += struct.pack("<qqqqqqq", off, size, swp, 1700000000, 1700000000, 0, 0)
    d += name.encode().ljust(128, b"\0") + extra.ljust(384, b"\0")
    assert len(d) == 585
    return d
objs, end = [], data_off
deffile = b"Bootstrap: docker\nFrom: alpine:3.20\n"
objs.append(desc(0x4001, 1, 1, 0, end, len(deffile), len(deffile), "")); d1 = end; end += len(deffile)
js = b'{"data":{"attributes":{}},"type":"container"}'
objs.append(desc(0x4006, 2, 1, 0, end, len(js), len(js), "inspect-metadata.json")); d2 = end; end += len(js)
part_off = (end + 4095) // 4096 * 4096
objs.append(desc(0x4004, 3, 1, 0, part_off, part_size, part_off - end + part_size, "",
                 struct.pack("<ii", 1, 2) + b"02\0")); end = part_off + part_size
sig = b"-----BEGIN PGP SIGNED MESSAGE-----\n" + b"x" * 900
objs.append(desc(0x4005, 4, 0, 0xF0000001, end, len(sig), len(sig), "", struct.pack("<i", 1) + bytes(range(20)))); sig_off = end; end += len(sig)
hdr = b"#!/usr/bin/env run-singularity\n".ljust(32, b"\0") + b"SIF_MAGIC\0" + b"01\0" + b"02\0" + uuid.uuid4().bytes
hdr += struct.pack("<qqqqqqqq", 1700000000, 1700000000, TOTAL - len(objs), TOTAL, DOFF, TOTAL * 585, data_off, end - data_off)
with open(path, "wb") as f:
    f.write(hdr.ljust(DOFF, b"\0"))
    f.write(b"".join(objs).ljust(TOTAL * 585, b"\0"))
    f.seek(d1); f.write(deffile); f.write(js)
    f.seek(sig_off); f.write(sig)
    f.truncate(end)
PY
}

printf '%-8s %12s %12s %8s\n' image siftool berth ratio | tee "$out/inspect.txt"
for size in 1 4; do
  img="$out/bench-${size}g.sif"
  make_image "$img" $((size * 1024 * 1024 * 1024 - 36864))
  diff <(siftool list "$img") <("$berth" sif list "$img") >/dev/null || { echo "bench: outputs differ on $img" >&2; exit 1; }
  hyperfine -N --warmup 5 --runs 200 --export-json "$out/inspect-${size}g.json" \
    "siftool list $img" "$berth sif list $img" >/dev/null
  python3 - "$out/inspect-${size}g.json" "${size} GiB" <<'PY' | tee -a "$out/inspect.txt"
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ref, ours = r[0]["median"], r[1]["median"]
print(f"{sys.argv[2]:<8} {ref*1000:10.2f}ms {ours*1000:10.2f}ms {ref/ours:7.1f}x")
PY
  rm -f "$img"
done
echo "(median of 200 runs each; ratio = siftool time / berth time; >1 means berth is faster)" | tee -a "$out/inspect.txt"
