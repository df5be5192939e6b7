#!/usr/bin/env bash
# bench/convert: docker:// → SIF of a multi-layer image (~200 MB) from Debian's
# docker-registry on 127.0.0.1, by berth and by the reference pipeline Apptainer wraps
# (skopeo copy → umoci unpack → mksquashfs -comp gzip -all-root → SIF with siftool), in one
# run; prints the ratio and peak memory. Every run starts without caches.
# BENCH_CONTENT=system fills the layers with this machine's files instead (python's
# library, /usr/bin, /usr/share/doc: real binaries and text, ~500 MB, hard links included).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${BENCH_OUT:-bench/out}")
size_mib=${BENCH_SIZE_MIB:-200}
content=${BENCH_CONTENT:-random}
runs=${BENCH_RUNS:-3}
mkdir -p "$out"
for tool in hyperfine /usr/bin/time docker-registry umoci skopeo mksquashfs siftool python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/setup.sh test; apt-get install hyperfine time)" >&2; exit 1; }
done
cargo build -q --release -p berth-cli
berth=$(realpath "${CARGO_TARGET_DIR:-target}/release/berth")

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-convert.XXXXXX")
cleanup() {
  if [ -n "${registry_pid:-}" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
host=127.0.0.1:$port
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $host
  secret: bench
YML
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
registry_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

# Four layers: busybox and random data, more data, a deletion and compressible text,
# more small files — like a real image with a base, packages and an application.
layout=$work/layout bundle=$work/bundle
umoci init --layout "$layout"
umoci new --image "$layout:1"
umoci unpack --rootless --image "$layout:1" "$bundle"
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/sh"
layer() { python3 - "$bundle/rootfs/$1" "$2" "$3" <<'PY'
import os, random, sys
root, mib, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(root, exist_ok=True)
rng = random.Random(mib)
left, i = mib << 20, 0
while left > 0:
    n = min(left, rng.choice([4 << 10, 64 << 10, 512 << 10, 4 << 20]))
    d = os.path.join(root, f"d{i % 37}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        f.write(os.urandom(n) if kind == "random" else (b"line of text %d\n" % i) * (n // 16))
    left -= n
    i += 1
PY
}
if [ "$content" = system ]; then
  python_lib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
  mkdir -p "$bundle/rootfs/opt" "$bundle/rootfs/usr/share"
  cp -a "$python_lib" "$bundle/rootfs/opt/python"; umoci repack --refresh-bundle --image "$layout:1" "$bundle"
  cp -a /usr/bin "$bundle/rootfs/usr/bin"; umoci repack --refresh-bundle --image "$layout:1" "$bundle"
  cp -a /usr/share/doc "$bundle/rootfs/usr/share/doc"; umoci repack --refresh-bundle --image "$layout:1" "$bundle"
  what="this machine's python library, /usr/bin and /usr/share/doc ($(du -sm "$bundle/rootfs" | cut -f1) MB) in 3 layers"
else
  quarter=$((size_mib / 4))
  layer opt/base "$quarter" random; umoci repack --refresh-bundle --image "$layout:1" "$bundle"
  layer opt/pkgs "$quarter" random; umoci repack --refresh-bundle --image "$layout:1" "$bundle"
  rm -rf "$bundle/rootfs/opt/base/d1"; layer usr/share/doc "$quarter" text
  umoci repack --refresh-bundle --image "$layout:1" "$bundle"
  layer srv/app "$quarter" random; umoci repack --refresh-bundle --image "$layout:1" "$bundle"
  what="~$size_mib MB in 4 layers (75 % random data)"
fi
umoci config --config.cmd=sh --image "$layout:1"
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:1" "docker://$host/bench/image:1"
rm -rf "$layout" "$bundle"

cd "$work"
export BERTH_CONFIG_DIR=$work/config BERTH_CACHE_DIR=$work/cache
berth_pull="$berth pull --no-cache -F berth.sif docker://$host/bench/image:1"
reference="sh -c 'skopeo copy --quiet --src-tls-verify=false docker://$host/bench/image:1 oci:ref:1 && umoci unpack --rootless --image ref:1 bundle >/dev/null && mksquashfs bundle/rootfs ref.sqfs -noappend -comp gzip -all-root -quiet >/dev/null && siftool new ref.sif && siftool add --datatype 4 --parttype 2 --partfs 1 --partarch 2 --groupid 1 ref.sif ref.sqfs'"
clean="rm -rf cache ref bundle ref.sqfs ref.sif berth.sif; sync"
hyperfine -N --runs "$runs" --warmup 1 --export-json "$out/convert.json" \
  --prepare "sh -c '$clean'" "$reference" \
  --prepare "sh -c '$clean'" "$berth_pull" >/dev/null
rss() { /usr/bin/time -f %M sh -c "$1" 2>&1 >/dev/null | tail -1; }
sh -c "$clean"; rss_ref=$(rss "skopeo copy --quiet --src-tls-verify=false docker://$host/bench/image:1 oci:ref:1 && umoci unpack --rootless --image ref:1 bundle >/dev/null && mksquashfs bundle/rootfs ref.sqfs -noappend -comp gzip -all-root -quiet >/dev/null")
sh -c "$clean"; rss_berth=$(rss "$berth_pull")
cd "$OLDPWD"

python3 - "$out" "$what" "$runs" "$rss_ref" "$rss_berth" <<'PY' | tee "$out/convert.txt"
import json, sys
out, what, runs = sys.argv[1], sys.argv[2], sys.argv[3]
rr, rb = (int(x) // 1024 for x in sys.argv[4:6])
t = [r["median"] for r in json.load(open(f"{out}/convert.json"))["results"]]
print(f"image: {what}, in a local docker-registry; median of {runs} runs, no caches")
print(f"reference (skopeo copy + umoci unpack + mksquashfs -comp gzip -all-root + siftool) {t[0]:6.2f} s")
print(f"berth pull --no-cache docker://…                                        {t[1]:6.2f} s   ratio {t[0]/t[1]:5.2f}x (target >= 2)")
print(f"peak RSS: reference (largest step) {rr} MiB, berth {rb} MiB (target < 256 MiB)")
PY
