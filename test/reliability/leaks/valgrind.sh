#!/bin/sh
# valgrind.sh [ROUNDS] - the leak soak (soak.cjs, default 6 rounds: every way to create, use and
# end profilers) under valgrind memcheck: a definite leak, or an invalid read or write in the addon
# or the core, fails it. About 25 s here; CI runs it (the soak's memory bound runs in npm test).
# node.supp silences what Node itself does that memcheck flags.
set -eu
cd "$(dirname "$0")/../../.."
exec valgrind -q --suppressions=test/reliability/leaks/node.supp --leak-check=full \
    --errors-for-leak-kinds=definite --error-exitcode=99 \
    node --expose-gc test/reliability/leaks/soak.cjs "${1:-6}" 1000000 >/dev/null
