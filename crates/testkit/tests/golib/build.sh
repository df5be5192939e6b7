#!/bin/sh
# Build a Go program over Apptainer's library client offline (GOPATH mode, Debian-packaged
# sources): the interop peer by default, or another program (bench/transfer-go).
# Usage: tests/golib/build.sh OUT_DIR [SRC_DIR NAME]   -> OUT_DIR/NAME (default: golib)
set -eu

if [ $# -ne 1 ] && [ $# -ne 3 ]; then
    echo "usage: $0 OUT_DIR [SRC_DIR NAME]" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${2:-$here}" && pwd)
name=${3:-golib}
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

gopath=$(mktemp -d "${TMPDIR:-/tmp}/$name-gopath.XXXXXX")
trap 'rm -rf "$gopath"' EXIT INT TERM
# A copy with its go.mod, under $GOPATH/src, so that module-style imports such as
# github.com/blang/semver/v4 resolve in GOPATH mode (minimal module compatibility).
mkdir -p "$gopath/src/$name"
cp "$src/main.go" "$src/go.mod" "$gopath/src/$name/"

mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$gopath/src/$name"
case $(go env GOCACHE 2>/dev/null) in
    ''|off) export GOCACHE="$gopath/cache" ;;
esac
GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$gopath:$gocode" \
    go build -trimpath -o "$out/$name" .
echo "built $out/$name"
