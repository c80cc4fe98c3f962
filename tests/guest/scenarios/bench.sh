# The benchmark's full sweep (issue 7); run it with bench/run, not ctest.
BENCH_SCENARIO=bench BENCH_MODE=full
source "$LIBRA_SRC/bench/guest-bench.sh"
