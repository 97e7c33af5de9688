#!/usr/bin/env bash
# Fixed-budget fuzzing of every kernel entry point (atheris + libFuzzer, gcc ASan/UBSan build).
#
#   bash .ci/fuzz.sh                       # CI: 30 s of fuzzing (.ci/run sets it), about 1 min in all
#   FUZZ_SECONDS=3600 FUZZ_CORPUS=DIR FUZZ_LOG=FILE nice -n 19 bash .ci/fuzz.sh  # a long run
#
# Builds the kernel with -fsanitize=address,undefined, gcc edge coverage fed to libFuzzer
# (fuzz/coverage.c) and a tiny token window (3 tokens, id compaction at 8) into a temporary copy
# of the package, then runs fuzz/harness.py from the committed seed corpus fuzz/corpus/ (new
# inputs go to FUZZ_CORPUS, a temporary folder by default). Oracles: the pure-Python matcher for
# match sets, Python statements of every other entry point (fuzz/oracles.py). Fails on any
# crash, sanitizer report, wrong answer or timeout, and prints the input that caused it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
SECONDS_BUDGET=${FUZZ_SECONDS:-60}
command -v gcc >/dev/null || { echo "fuzz.sh: gcc is required" >&2; exit 1; }
"$PY" -c "import atheris" 2>/dev/null || "$PY" -m pip install -q "atheris==3.0.0"
LIBASAN=$(gcc -print-file-name=libasan.so)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
corpus=${FUZZ_CORPUS:-$tmp/corpus}
log=${FUZZ_LOG:-$tmp/fuzz.log}
mkdir -p "$corpus" "$tmp/artifacts"
"$PY" fuzz/build_kernel.py "$tmp/build" --sanitize --coverage --window 3 --compact 8 >/dev/null

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
echo "+ fuzzing for ${SECONDS_BUDGET}s (corpus: $corpus, seeds: fuzz/corpus)"
set +e
PYTHONPATH="$tmp/build:." LD_PRELOAD="$LIBASAN" "$PY" -m fuzz.harness \
  -max_total_time="$SECONDS_BUDGET" -timeout=120 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$tmp/artifacts/" "$corpus" fuzz/corpus >"$log" 2>&1
rc=$?
set -e
grep -E "^#[0-9]+ +DONE|kernel coverage|stat::number_of_executed_units|stat::peak_rss" \
  "$log" || true
echo "  corpus: $(find "$corpus" -type f | wc -l) inputs"
if [ "$rc" -ne 0 ] || grep -qE "ERROR: AddressSanitizer|runtime error:|Uncaught Python exception" \
  "$log"; then
  echo "fuzz.sh: failure (exit $rc):" >&2
  grep -v -E "^#[0-9]+ +(NEW|REDUCE|pulse)" "$log" | tail -n 60 >&2
  for f in "$tmp"/artifacts/*; do
    [ -e "$f" ] || continue
    echo "reproducer $(basename "$f") (hex): $("$PY" -c 'import sys; print(open(sys.argv[1], "rb").read().hex())' "$f")" >&2
    echo "replay: python -c \"from fuzz import targets; targets.run(bytes.fromhex('...'))\"" >&2
  done
  exit 1
fi
echo "fuzz.sh: no crashes, sanitizer reports or mismatches"
