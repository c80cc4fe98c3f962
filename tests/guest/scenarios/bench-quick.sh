# The benchmark's fast mode (ctest bench/quick, via bench/run --quick).
BENCH_SCENARIO=bench-quick BENCH_MODE=quick
source "$LIBRA_SRC/bench/guest-bench.sh"
