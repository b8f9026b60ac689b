#!/usr/bin/env bash
# The whole test run, as the README gives it and .ci/run runs it: set up, then
# format, lint and type checks, the native build, and every test. Ends with one
# line "N passed, N failed" (each check counts as one test).
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
step() { # step NAME COMMAND...: runs a check that counts as one test
  local name=$1
  shift
  echo "== $name" >&2
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name" >&2; fi
}

if ! bash scripts/setup.sh; then
  echo "setup failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

step "deno fmt --check" deno fmt --check
step "deno lint" deno lint
step "deno check" deno task check
step "deno doc --lint mod.ts" deno doc --lint mod.ts
if [[ -f scripts/build-ffi.sh ]]; then step "build:ffi" bash scripts/build-ffi.sh; fi
step "build:interop" bash scripts/build-interop.sh # the Go KCP+smux peer of tests/interop/
step "deno test --doc" deno test --doc -A mod.ts lib/ # the examples in the docs compile and run

junit=$(mktemp)
echo "== deno test" >&2
deno test -A --junit-path="$junit" tests/ "$@" >&2
read -r t f < <(python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1); sys.exit()
cases = root.iter("testcase")
t = f = 0
for case in cases:
    t += 1
    if case.find("failure") is not None or case.find("error") is not None:
        f += 1
print(t - f, f)
PY
)
rm -f "$junit"
passed=$((passed + t))
failed=$((failed + f))
echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
