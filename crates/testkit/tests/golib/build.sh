#!/bin/sh
# Build the library-client interop peer offline (GOPATH mode, Debian-packaged sources).
# Usage: tests/golib/build.sh OUT_DIR   -> OUT_DIR/golib
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
gocode=${GOLIB_GOCODE:-/usr/share/gocode}

if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: 'go' not found; apt-get install golang-go (scripts/setup.sh)" >&2
    exit 1
fi
d=github.com/apptainer/container-library-client/client
if [ ! -d "$gocode/src/$d" ]; then
    echo "build.sh: $gocode/src/$d missing; apt-get install golang-github-apptainer-container-library-client-dev" >&2
    exit 1
fi

gopath=$(mktemp -d "${TMPDIR:-/tmp}/golib-gopath.XXXXXX")
trap 'rm -rf "$gopath"' EXIT INT TERM
# A copy with its go.mod, under $GOPATH/src, so that module-style imports such as
# github.com/blang/semver/v4 resolve in GOPATH mode (minimal module compatibility).
mkdir -p "$gopath/src/golib"
cp "$here/main.go" "$here/go.mod" "$gopath/src/golib/"

mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$gopath/src/golib"
case $(go env GOCACHE 2>/dev/null) in
    ''|off) export GOCACHE="$gopath/cache" ;;
esac
GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$gopath:$gocode" \
    go build -trimpath -o "$out/golib" .
echo "built $out/golib"
