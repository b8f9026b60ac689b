#!/usr/bin/env bash
# Builds the Go test peers of tests/interop/ from Debian's Go sources
# (golang-github-xtaci-kcp-dev, golang-github-xtaci-smux-dev and their
# dependencies under /usr/share/gocode) in GOPATH mode: build/interop/kcpsmux-peer.
# Idempotent: rebuilds only when a source is newer than the binary. The interop
# tests and the core bench run it themselves when the binary is missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build/interop
GOPATH_DIR=$PWD/$OUT/gopath
DEBIAN_GOCODE=/usr/share/gocode/src
BINARY=$OUT/kcpsmux-peer
SOURCES=(tests/interop/kcpsmux/peer.go)

for dir in "$DEBIAN_GOCODE/github.com/xtaci/kcp-go" "$DEBIAN_GOCODE/github.com/xtaci/smux"; do
  if [[ ! -d $dir ]]; then
    echo "build-interop: $dir is missing; run scripts/setup.sh (golang-github-xtaci-kcp-dev, golang-github-xtaci-smux-dev)" >&2
    exit 1
  fi
done

# Snowflake imports kcp-go by its module path github.com/xtaci/kcp-go/v5; in
# GOPATH mode that path must exist, so point it at Debian's unversioned copy.
link=$GOPATH_DIR/src/github.com/xtaci/kcp-go/v5
if [[ "$(readlink "$link" 2>/dev/null)" != "$DEBIAN_GOCODE/github.com/xtaci/kcp-go" ]]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$DEBIAN_GOCODE/github.com/xtaci/kcp-go" "$link"
fi

stale=0
[[ -x $BINARY ]] || stale=1
for src in "${SOURCES[@]}" "$0"; do
  [[ $src -nt $BINARY ]] && stale=1
done
if ((stale)); then
  echo "build-interop: building $BINARY" >&2
  GO111MODULE=off GOPATH="$GOPATH_DIR:/usr/share/gocode" GOFLAGS= GOCACHE="$PWD/$OUT/gocache" \
    go build -o "$BINARY.$$.tmp" "${SOURCES[@]}"
  mv "$BINARY.$$.tmp" "$BINARY" # atomic: a concurrent run sees the old binary or the new one
fi
