#!/usr/bin/env bash
# The kernel's tests under AddressSanitizer + UndefinedBehaviorSanitizer (gcc's, from Debian).
#
#   bash .ci/sanitize.sh            # needs gcc and a Python with the test extras installed
#
# Builds src/metacurate/kernel/_native.c (and every other kernel extension of setup.py) with
# -fsanitize=address,undefined into a temporary copy of the package, twice: with the default token window and with a tiny one (2 tokens,
# id compaction at 4) so that short test inputs reach the window refill, growth and
# compaction paths. Runs the kernel tests (and the matcher, uid, balance, worldwide matcher
# and HTML scan tests that call the kernel) against each build with libasan preloaded. Any sanitizer report fails the run:
# UBSan does not recover (-fno-sanitize-recover=all), and the log is searched for reports.
# About 2-3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
command -v gcc >/dev/null || { echo "sanitize.sh: gcc is required" >&2; exit 1; }
LIBASAN=$(gcc -print-file-name=libasan.so)
[ -e "$LIBASAN" ] || { echo "sanitize.sh: gcc's libasan is missing (apt-get install gcc)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export METACURATE_REQUIRE_NATIVE=1
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
TESTS=(tests/kernel tests/match/test_matcher.py tests/pool/test_uid.py tests/balance/test_rule.py)
# The other extensions' tests (the token window is _native's): in the default build only.
OTHER_TESTS=(tests/match/test_metaclip2_modes.py tests/match/test_languages.py
             tests/extract/test_scan.py tests/extract/test_wat_fast.py tests/extract/test_pairs.py
             tests/extract/test_header_lookup.py)

run_variant() {  # name, build flags...
  local name=$1; shift
  local out="$tmp/$name"
  local tests=("${TESTS[@]}")
  [ "$name" != default ] || tests+=("${OTHER_TESTS[@]}")
  "$PY" fuzz/build_kernel.py "$out" --sanitize "$@" >/dev/null
  echo "+ [$name] kernel tests under ASan+UBSan"
  # the copy must be the one imported: checked before the tests run
  PYTHONPATH="$out:." LD_PRELOAD="$LIBASAN" "$PY" -c "
import sys
import importlib, pkgutil
import metacurate.kernel as kernel
from metacurate.kernel import native
names = [m.name for m in pkgutil.iter_modules(kernel.__path__) if m.name.startswith('_')]
for name in names:
    module = importlib.import_module('metacurate.kernel.' + name)
    assert module.__file__.startswith('$out'), module.__file__
print('  kernel:', native.__file__, 'window', native.WINDOW_TOKENS, 'compact', native.COMPACT_IDS)
print('  sanitized:', ', '.join(sorted(names)))
"
  set +e
  PYTHONPATH="$out:." LD_PRELOAD="$LIBASAN" "$PY" -m pytest -q -p no:cacheprovider \
    -m "not slow" "${tests[@]}" >"$tmp/$name.log" 2>&1
  local rc=$?
  set -e
  tail -n 3 "$tmp/$name.log"
  if grep -qE "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$tmp/$name.log"; then
    echo "sanitize.sh: [$name] sanitizer report:" >&2
    grep -E -A30 "ERROR: AddressSanitizer|runtime error:" "$tmp/$name.log" | head -60 >&2
    exit 1
  fi
  if [ "$rc" -ne 0 ]; then
    echo "sanitize.sh: [$name] tests failed (exit $rc):" >&2
    tail -n 60 "$tmp/$name.log" >&2
    exit 1
  fi
}

run_variant default
run_variant tiny-window --window 2 --compact 4
echo "sanitize.sh: no sanitizer reports, tests passed"
