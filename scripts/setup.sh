#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with Node/npm: Deno 2.9.6 from npm,
# and the Debian packages the build and tests use (Go and pion for the WebRTC
# binding, kcp-go/smux for the conformance peer, Go Snowflake and tor as real peers).
set -euo pipefail

DENO_VERSION=2.9.6
APT_PACKAGES=(
  golang-go
  golang-github-pion-webrtc.v3-dev
  gcc
  libc6-dev
  golang-github-xtaci-kcp-dev
  golang-github-xtaci-smux-dev
  golang-snowflake-dev
  snowflake-client
  snowflake-proxy
  tor
  tor-geoipdb
  iproute2
  systemd
  util-linux
  openssl
  chromium
  linux-perf
)

if ! command -v deno >/dev/null 2>&1 || [[ "$(deno --version | head -n1)" != "deno ${DENO_VERSION} "* ]]; then
  echo "setup: installing deno ${DENO_VERSION} from npm" >&2
  npm install -g "deno@${DENO_VERSION}" >&2
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi
