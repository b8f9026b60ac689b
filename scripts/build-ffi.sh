#!/usr/bin/env bash
# `deno task build:ffi`: builds the WebRTC binding's native library
# (lib/webrtc/native/, Go over Debian's pion/webrtc v3) into
# build/ffi/libsnowflake_webrtc.so, and the Go test/bench peer
# (tests/webrtc/go_peer/) into build/ffi/webrtc-go-peer.
#
# No network: GOPATH mode over Debian's /usr/share/gocode, with the few
# versioned import paths pion uses (webrtc/v3, sdp/v3, transport/v2, udp/v2)
# symlinked to Debian's unversioned directories. Idempotent and quick when up to
# date: a stamp holds the hash of every input and the Go version.
set -euo pipefail
SCRIPT=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$SCRIPT")/.."

OUT=build/ffi
LIB=$OUT/libsnowflake_webrtc.so
PEER=$OUT/webrtc-go-peer
GOCODE=/usr/share/gocode/src
SOURCES=(lib/webrtc/native tests/webrtc/go_peer)

if ! command -v go >/dev/null 2>&1 || [[ ! -d $GOCODE/github.com/pion/webrtc ]]; then
  echo "build:ffi: needs Debian's golang-go and golang-github-pion-webrtc.v3-dev (run: bash scripts/setup.sh)" >&2
  exit 1
fi

stamp=$({
  go version
  sha256sum "$SCRIPT"
  find "${SOURCES[@]}" -type f \( -name '*.go' -o -name '*.c' \) -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -d' ' -f1)
if [[ -f $LIB && -x $PEER && -f $OUT/.stamp && $(cat "$OUT/.stamp") == "$stamp" ]]; then
  echo "build:ffi: $LIB is up to date" >&2
  exit 0
fi

mkdir -p "$OUT/gopath/src/github.com/pion"
for versioned in webrtc/v3 sdp/v3 transport/v2 udp/v2; do
  link=$OUT/gopath/src/github.com/pion/$versioned
  mkdir -p "$(dirname "$link")"
  ln -sfn "$GOCODE/github.com/pion/${versioned%/*}" "$link"
done

export GO111MODULE=off GOPATH="$PWD/$OUT/gopath:/usr/share/gocode" GOFLAGS=-trimpath
echo "build:ffi: building $LIB" >&2
go build -buildmode=c-shared -ldflags=-s -o "$LIB" ./lib/webrtc/native
rm -f "${LIB%.so}.h" # cgo's header: the TS binding declares the symbols itself
echo "build:ffi: building $PEER" >&2
go build -ldflags=-s -o "$PEER" ./tests/webrtc/go_peer
echo "$stamp" >"$OUT/.stamp"
