#!/usr/bin/env bash
# Installs what Berth needs to build, run and test, skipping whatever is already there.
# Usage: scripts/setup.sh run|test     (idempotent; safe to run on every `make`)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-run}

# Build and run: WebKitGTK for the window, nettle + libclang for sequoia's OpenPGP backend,
# D-Bus and a Secret Service (gnome-keyring) for tokens in the system keychain.
# Test: Xvfb + WebKitWebDriver for the e2e suite, the reference siftool and squashfs-tools,
# Go with the reference sylabs/sif sources for the signing interop tests, and an OCI
# registry with umoci + skopeo to build and serve test images for docker:// pulls.
apt_run=(build-essential pkg-config file curl libwebkit2gtk-4.1-dev libssl-dev nettle-dev libclang-dev libdbus-1-dev
  dbus gnome-keyring)
apt_test=(xvfb xauth webkit2gtk-driver imagemagick siftool squashfs-tools dbus-user-session
  golang-go golang-github-sylabs-sif-dev golang-github-protonmail-go-crypto-dev
  golang-github-apptainer-container-library-client-dev
  docker-registry umoci skopeo apache2-utils busybox-static)
pkgs=("${apt_run[@]}")
[ "$what" = test ] && pkgs+=("${apt_test[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: Rust is missing: install it with rustup (https://rustup.rs)" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
npm_install() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_install ui
if [ "$what" = test ]; then
  npm_install e2e
  # tauri-driver bridges WebDriver to the app; ~30 s to build once. The e2e harness finds
  # it in cargo's bin dir even when that is not on PATH.
  driver="${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver"
  if ! "$driver" --version 2>/dev/null | grep -q "2\.1\.0"; then
    cargo install tauri-driver --version 2.1.0 --locked --force -q
  fi
fi
