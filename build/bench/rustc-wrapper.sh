#!/bin/sh
# RUSTC_WRAPPER used by build/bench/run.py.
# cargo runs it as: rustc-wrapper.sh /path/to/rustc ARGS...
# For the benchmark's own crates (crate names starting with bw_) it appends one line when the
# compile starts and one when it ends to $BENCH_RUSTC_LOG:
#   S <unix-ns> <wrapper-pid> <crate>      E <unix-ns> <wrapper-pid> <crate> <exit-code>
# Every other invocation (cargo's `rustc -vV` probes, std queries) is exec'd untouched.
# The wrapper passes every inherited descriptor and variable through, so rustc sees the same
# jobserver (CARGO_MAKEFLAGS and the descriptors it names) as without the wrapper.
name=
prev=
for a in "$@"; do
    if [ "$prev" = "--crate-name" ]; then
        name=$a
        break
    fi
    prev=$a
done
case "$name" in
    bw_*) ;;
    *) exec "$@" ;;
esac
if [ -z "$BENCH_RUSTC_LOG" ]; then
    exec "$@"
fi
echo "S $(date +%s%N) $$ $name" >> "$BENCH_RUSTC_LOG"
"$@"
rc=$?
echo "E $(date +%s%N) $$ $name $rc" >> "$BENCH_RUSTC_LOG"
exit $rc
