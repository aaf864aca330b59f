#!/bin/sh
# run_tests.sh VARIANT BINARY... - runs each test program, reports every one,
# and exits non-zero when any failed (so make stops after the whole variant).
variant=$1
shift
case $variant in
    asan)
        ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
        export ASAN_OPTIONS UBSAN_OPTIONS ;;
    tsan)
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
        export TSAN_OPTIONS ;;
esac
runner=
if [ "$variant" = valgrind ]; then
    runner="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
fi
failed=
for t in "$@"; do
    start=$(date +%s%N)
    if timeout 300 $runner "$t"; then status=ok; else status=FAILED; failed="$failed $(basename "$t")"; fi
    end=$(date +%s%N)
    ms=$(( (end - start) / 1000000 ))
    printf '%-8s %-6s %-26s %6d ms\n' "$variant" "$status" "$(basename "$t")" "$ms"
done
if [ -n "$failed" ]; then
    echo "$variant: FAILED:$failed"
    exit 1
fi
echo "$variant: all $# test programs passed"
