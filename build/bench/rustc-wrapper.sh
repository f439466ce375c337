#!/bin/sh
# RUSTC_WRAPPER used by build/bench/run.py.
# cargo runs it as: rustc-wrapper.sh /path/to/rustc ARGS...
# For the benchmark's own crates (crate names starting with bw_) it appends one line when the
# compile starts and one when it ends to $BENCH_RUSTC_LOG:
#   S <unix-ns> <wrapper-pid> <crate>      E <unix-ns> <wrapper-pid> <crate> <exit-code> <rustc-cpu-s>
# (rustc-cpu-s: user+sys seconds of rustc and all its threads, from the shell's `times`).
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
# `times` in a command substitution would run in a fresh subshell with no children: write it to a file.
times > "$BENCH_RUSTC_LOG.$$.times"
cpu=$(awk 'function s(x) { sub(/s$/, "", x); split(x, p, "m"); return p[1] * 60 + p[2] }
           NR == 2 { printf "%.3f", s($1) + s($2) }' "$BENCH_RUSTC_LOG.$$.times")
rm -f "$BENCH_RUSTC_LOG.$$.times"
echo "E $(date +%s%N) $$ $name $rc $cpu" >> "$BENCH_RUSTC_LOG"
exit $rc
