#!/usr/bin/env bash
# Builds the libFuzzer harness (fuzz_api.c + the library sources, ASan + UBSan) and runs it
# for a bounded time on a copy of the committed seed corpus.
#
#   vendor/libdrainprof/fuzz/run.sh [seconds]        default 60
#   FUZZ_JOBS=2 vendor/libdrainprof/fuzz/run.sh 600  parallel workers
#   vendor/libdrainprof/fuzz/run.sh --repro FILE     replay one input (e.g. from fuzz/crashes/)
#
# Installs nothing. Needs clang with libFuzzer (Debian: apt-get install clang); set CC to
# choose the compiler. Exit status: 0 clean, 1 a finding (crash, leak, failed check),
# 2 missing tool or build failure. New crash inputs are written to fuzz/out/ (not committed);
# copy a reproducer to fuzz/crashes/ to keep it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
lib="$(cd "$here/.." && pwd)"
out="$here/out"

find_clang() {
    if [[ -n "${CC:-}" ]]; then
        command -v "$CC" && return 0
        return 1
    fi
    local c
    for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

if ! cc="$(find_clang)"; then
    echo "fuzz/run.sh: clang not found (need clang with libFuzzer; Debian: apt-get install clang), or CC=$CC is not a command" >&2
    exit 2
fi

mkdir -p "$out/corpus" "$out/artifacts"
flags=(-std=c11 -g -O1 -fno-omit-frame-pointer -pthread
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -I"$lib/include" -I"$lib/src")
# FUZZ_CFLAGS: extra compiler flags
read -r -a extra <<<"${FUZZ_CFLAGS:-}"
flags+=("${extra[@]}")
srcs=("$lib"/src/*.c)
if [[ ! -e "${srcs[0]}" ]]; then
    echo "fuzz/run.sh: no library sources in $lib/src" >&2
    exit 2
fi
if ! "$cc" "${flags[@]}" "${srcs[@]}" "$here/fuzz_api.c" -o "$out/fuzz_api" -lm 2>"$out/build.log"; then
    cat "$out/build.log" >&2
    echo "fuzz/run.sh: build failed with $cc" >&2
    exit 2
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [[ "${1:-}" == "--repro" ]]; then
    exec "$out/fuzz_api" "${2:?usage: run.sh --repro FILE}"
fi

seconds="${1:-60}"
jobs="${FUZZ_JOBS:-1}"
cp -n "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
echo "fuzz/run.sh: $cc, ${seconds}s, $jobs job(s), corpus $(ls "$out/corpus" | wc -l) inputs"

log="$out/fuzz.log"
args=("$out/corpus" "$here/corpus" -max_total_time="$seconds" -max_len=4096 -timeout=20
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/artifacts/")
if (( jobs > 1 )); then
    args+=(-fork="$jobs")
fi
status=0
"$out/fuzz_api" "${args[@]}" >"$log" 2>&1 || status=$?
grep -E '^(#[0-9]+ +(DONE|INITED)|stat::|Done )' "$log" | tail -n 12 || true
if (( status != 0 )); then
    echo "----- fuzz log tail -----"
    grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' "$log" | tail -n 60
    echo "fuzz/run.sh: FINDING (exit $status); inputs in $out/artifacts:" >&2
    ls -l "$out/artifacts" >&2
    exit 1
fi
echo "fuzz/run.sh: clean"
