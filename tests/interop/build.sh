#!/bin/sh
# Build the sifsig interop peer offline (GOPATH mode, Debian-packaged sources).
# Usage: tests/interop/build.sh OUT_DIR   -> OUT_DIR/sifsig
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
gocode=${SIFSIG_GOCODE:-/usr/share/gocode}  # override only to test the error path

if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: 'go' not found; apt-get install golang-go" >&2
    exit 1
fi
for d in github.com/sylabs/sif/pkg/integrity github.com/ProtonMail/go-crypto/openpgp; do
    if [ ! -d "$gocode/src/$d" ]; then
        echo "build.sh: $gocode/src/$d missing; apt-get install golang-github-sylabs-sif-dev golang-github-protonmail-go-crypto-dev" >&2
        exit 1
    fi
done

gopath=$(mktemp -d "${TMPDIR:-/tmp}/sifsig-gopath.XXXXXX")
trap 'rm -rf "$gopath"' EXIT INT TERM
# A copy (not a symlink): the go tool resolves symlinks, and the source must sit
# under $GOPATH/src with its go.mod for "github.com/sylabs/sif/v2/..." to
# resolve (minimal module compatibility).
mkdir -p "$gopath/src"
cp -R "$here/sifsig" "$gopath/src/sifsig"

mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$gopath/src/sifsig"
# No network: GOPATH mode, no proxy, no VCS, no toolchain downloads.
# GOCACHE defaults under $HOME; use a throwaway one if there is none (go env
# then reports "off" or nothing).
case $(go env GOCACHE 2>/dev/null) in
    ''|off) export GOCACHE="$gopath/cache" ;;
esac
GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$gopath:$gocode" \
    go build -trimpath -o "$out/sifsig" .
echo "built $out/sifsig"
