# The README's demo: Debian's nginx as a reverse proxy for 1 MiB bodies,
# measured side by side in one guest: two identical nginx instances, one
# stock and one opted in to Libra (opt-in adopts connections from their
# start), alternated A/B/A/B, bodies checked by sha256, counters shown. Both
# run with the proxy buffers the README recommends for an opted-in nginx
# (Libra's work is per buffer: bench/results/nginx-buffers).
source "$LIBRA_SRC/tests/guest/lib.sh"

size=1048576 seconds=${LIBRA_DEMO_SECONDS:-5}
make_bodies $size
start_backend 8081
libra_load
libra_attach_parser
buffers="proxy_buffer_size 64k; proxy_buffers 8 64k; proxy_max_temp_file_size 0;"
start_nginx_proxy 8080 8081 nginx-stock "$buffers"
start_nginx_proxy 8082 8081 nginx-libra "$buffers"
"$DEVCTL" enable "$PROXY_PID" desc

# wrk on port $1 for $seconds, appending "req/s p50 p99" to $WORK/runs.$2
measure() {
	local out=$WORK/wrk.$2.$RANDOM
	wrk -t 1 -c 4 -d "${seconds}s" --latency "http://127.0.0.1:$1/$size" > "$out" 2>&1 \
		|| fail "wrk: $(cat "$out")"
	grep -E -q 'Socket errors|Non-2xx' "$out" && fail "wrk saw errors: $(cat "$out")"
	awk '/Requests\/sec/ { rps = $2 } / 50%/ { p50 = $2 } / 99%/ { p99 = $2 }
	     END { print rps, p50, p99 }' "$out" >> "$WORK/runs.$2"
}

verify() {
	local want
	want=$(sha256sum < "$WORK/www/$size" | cut -d' ' -f1)
	for _ in 1 2 3; do
		[[ $(curl -sf "http://127.0.0.1:$1/$size" | sha256sum | cut -d' ' -f1) == "$want" ]] \
			|| fail "a body through port $1 differs"
	done
}

# median of column $2 in file $1 (values like 12.3ms or 1.2s are kept as printed)
median() { sort -g -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }

for round in 1 2; do
	say "round $round: stock nginx, then nginx with Libra, ${seconds}s each"
	verify 8080; measure 8080 stock
	verify 8082; measure 8082 libra
done
wait_anchors_released
stock_rps=$(median "$WORK/runs.stock" 1) libra_rps=$(median "$WORK/runs.libra" 1)
stock_p50=$(median "$WORK/runs.stock" 2) libra_p50=$(median "$WORK/runs.libra" 2)
stock_p99=$(median "$WORK/runs.stock" 3) libra_p99=$(median "$WORK/runs.libra" 3)

echo
echo "== Libra demo: Debian nginx reverse proxy, 1 MiB bodies, wrk -c4, 2 x ${seconds}s A/B =="
echo "   both nginx instances: Debian's defaults and \"$buffers\" (the README's advice for Libra)"
echo "   platform: QEMU software emulation (-cpu max,-erms,-fsrm), kernel $(uname -r); absolute numbers are"
echo "   emulation's, compare the ratio. Every body checked by sha256 with Libra off and on."
printf '   %-26s %10s %10s %10s\n' "(medians)" "req/s" "p50" "p99"
printf '   %-26s %10s %10s %10s\n' "stock nginx" "$stock_rps" "$stock_p50" "$stock_p99"
printf '   %-26s %10s %10s %10s\n' "nginx opted in to Libra" "$libra_rps" "$libra_p50" "$libra_p99"
awk -v a="$stock_rps" -v b="$libra_rps" 'BEGIN { printf "   throughput ratio Libra/stock: %.2fx\n", b / a }'
echo "   module counters:"
"$DEVCTL" stats | grep -E 'bytes_|anchor|messages|fallback_(budget|desync|small)|tokens' | sed 's/^/     /'
echo
"$DEVCTL" disable "$PROXY_PID"
libra_unload
