# Splits the proxy workers' samples of a `perf script -F comm,ip,sym` dump
# (cpu-clock at 1000 Hz) into milliseconds per request: by the system call
# they ran under, then by what runs under it, then the rest of writev and
# readv (libra's own work, the system call's) by the innermost libra
# function on the stack, else the sampled function.
# Used by tests/guest/scenarios/bench-perf.sh; -v req=REQUESTS -v hz=HZ.
function has(f,   i) {
	for (i = 1; i <= n; i++)
		if (stack[i] == f)
			return 1
	return 0
}
function flush(   sys, what, owner, i) {
	if (!n)
		return
	total++
	sys = "other kernel"
	if (has("do_writev")) sys = "writev"
	else if (has("do_readv")) sys = "readv"
	else if (has("__sys_recvfrom") || has("__sys_recvmsg")) sys = "recv"
	else if (has("__sys_sendto") || has("__sys_sendmsg")) sys = "send"
	else if (has("do_epoll_wait")) sys = "epoll_wait"
	else if (!has("entry_SYSCALL_64_after_hwframe") && !has("asm_sysvec_apic_timer_interrupt") && !has("ret_from_fork")) sys = "user space"
	bysys[sys]++
	# on loopback the transmit runs the peer's receive inline: both are "transmit"
	what = "rest"
	if (has("__tcp_push_pending_frames") || has("tcp_push_one") || has("__tcp_transmit_skb")) what = "transmit"
	else if (has("__release_sock")) what = "backlog"
	else if (has("copy_user_generic_string") || has("copy_user_generic_unrolled") || has("_copy_from_iter") || has("_copy_to_iter") || has("copy_page_to_iter") || has("clear_user_rep_good") || has("clear_user_original")) what = "user copy or fill"
	else if (has("libra_anchor_build")) what = "libra anchor build"
	else if (has("libra_anchor_send")) what = "page send (no transmit)"
	else if (has("tcp_sendmsg_locked")) what = "sendmsg (no copy, no transmit)"
	else if (has("libra_dir_parse") || has("libra_parser_run")) what = "libra parser"
	else if (has("tcp_read_sock")) what = "tcp_read_sock"
	else if (has("tcp_recvmsg_locked")) what = "recvmsg (no copy)"
	under[sys ": " what]++
	if ((sys == "writev" || sys == "readv") && what == "rest") {
		owner = "(not in libra: " stack[1] ")"
		for (i = 1; i <= n; i++)
			if (stack[i] ~ /^libra_/) {
				owner = stack[i]
				break
			}
		owned[sys ": " owner]++
	}
	n = 0
}
NF >= 2 && $1 ~ /^[0-9a-f]+$/ {
	s = $2
	sub(/\+0x.*/, "", s)
	stack[++n] = s
	next
}
{ flush() }
END {
	flush()
	ms = 1000 / hz / req
	printf "##### %.2f ms of samples per request, by system call\n", total * ms
	for (k in bysys) printf "%8.3f  %s\n", bysys[k] * ms, k | "sort -rn"
	close("sort -rn")
	printf "##### by system call and what runs under it (ms per request, >= 0.02)\n"
	for (k in under) if (under[k] * ms >= 0.02) printf "%8.3f  %s\n", under[k] * ms, k | "sort -rn"
	close("sort -rn")
	printf "##### the rest of writev and readv by the innermost libra function, else the sampled one (ms per request, >= 0.02)\n"
	for (k in owned) if (owned[k] * ms >= 0.02) printf "%8.3f  %s\n", owned[k] * ms, k | "sort -rn"
	close("sort -rn")
}
