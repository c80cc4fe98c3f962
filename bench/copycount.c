// SPDX-License-Identifier: GPL-2.0
/*
 * copycount: counts the bytes the kernel copies between kernel and user
 * memory on behalf of chosen processes (kprobes and fexit programs on the
 * socket and file data paths, see copycount.bpf.c). Independent of libra.ko:
 * it sees what a process actually received into and sent from its memory.
 *
 *   copycount selftest
 *       validates the counter against known transfers: TCP over loopback in
 *       both directions (the peer is an untracked child, which must not
 *       count) and a file written and read back; exit 1 on any mismatch.
 *   copycount run --out FILE [--pid PID]... -- COMMAND [ARG]...
 *       counts for each listed process while COMMAND runs (COMMAND itself
 *       is not counted) and writes one line per process to FILE:
 *       pid=P to_user_bytes=N from_user_bytes=N to_user_calls=N from_user_calls=N
 *   copycount serve
 *       loads once and answers commands on stdin (see serve() below); what
 *       the benchmark uses, since loading takes seconds under emulation.
 *
 * Needs root and the running kernel's BTF (/sys/kernel/btf/vmlinux).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "copycount.skel.h"

struct copy_totals {
	uint64_t to_user_bytes, from_user_bytes, to_user_calls, from_user_calls;
};

static struct copycount_bpf *skel;
static int ncpus;
static char probes_attached[512];
static struct bpf_link *links[16];
static int nlinks;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "copycount: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static struct copy_totals read_totals(uint32_t tgid)
{
	struct copy_totals per[ncpus], sum = {0};
	if (bpf_map__lookup_elem(skel->maps.totals, &tgid, sizeof(tgid), per, sizeof(per), 0))
		return sum;	/* not tracked */
	for (int c = 0; c < ncpus; c++) {
		sum.to_user_bytes += per[c].to_user_bytes;
		sum.from_user_bytes += per[c].from_user_bytes;
		sum.to_user_calls += per[c].to_user_calls;
		sum.from_user_calls += per[c].from_user_calls;
	}
	return sum;
}

/* Starts (or restarts) counting for @tgid from zero; on == 0 stops. */
static void track(uint32_t tgid, int on)
{
	struct copy_totals per[ncpus];
	memset(per, 0, sizeof(per));
	int err = on ? bpf_map__update_elem(skel->maps.totals, &tgid, sizeof(tgid), per, sizeof(per), 0)
		     : bpf_map__delete_elem(skel->maps.totals, &tgid, sizeof(tgid), 0);
	if (err && on)
		die("tracking %u: %s", tgid, strerror(errno));
}

static int attach_one(struct bpf_program *prog, const char *func)
{
	struct bpf_link *link = bpf_program__attach(prog);
	if (!link)
		return -1;
	links[nlinks++] = link;
	size_t n = strlen(probes_attached);
	snprintf(probes_attached + n, sizeof(probes_attached) - n, "%s%s", n ? "," : "", func);
	return 0;
}

/* Writes and reads back a file of n bytes; returns what was counted. */
static struct copy_totals file_roundtrip(size_t n)
{
	char path[] = "/tmp/copycount.XXXXXX";
	char *buf = malloc(n);
	int fd = mkstemp(path);
	if (fd < 0 || !buf)
		die("temp file: %s", strerror(errno));
	unlink(path);
	memset(buf, 0x5a, n);
	track(getpid(), 1);
	if (write(fd, buf, n) != (ssize_t)n || pread(fd, buf, n, 0) != (ssize_t)n)
		die("file round trip: %s", strerror(errno));
	struct copy_totals t = read_totals(getpid());
	close(fd);
	free(buf);
	return t;
}

/* The probe points are explained in copycount.bpf.c. */
static void detach_all(void)
{
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
	probes_attached[0] = 0;
}

static void attach_all(void)
{
	detach_all();
	struct { struct bpf_program *prog; const char *func; int required; } points[] = {
		{skel->progs.skb_copy_datagram_iter, "skb_copy_datagram_iter", 1},
		{skel->progs.tcp_sendmsg_locked, "tcp_sendmsg_locked", 1},
		{skel->progs.shmem_file_read_iter, "shmem_file_read_iter", 1},
		{skel->progs.generic_perform_write, "generic_perform_write", 1},
		{skel->progs.filemap_read, "filemap_read", 0},
		{skel->progs.tls_sw_sendmsg, "tls_sw_sendmsg", 0},
	};
	for (size_t k = 0; k < sizeof(points) / sizeof(points[0]); k++)
		if (bpf_program__autoload(points[k].prog) &&
		    attach_one(points[k].prog, points[k].func) && points[k].required)
			die("cannot attach to %s: %s", points[k].func, strerror(errno));
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void setup(void)
{
	libbpf_set_print(quiet_print);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		die("cannot count CPUs");
	skel = copycount_bpf__open();
	if (!skel)
		die("opening the BPF object: %s", strerror(errno));
	/* kernel TLS's copies: only where the tls module (and its BTF) is loaded */
	if (access("/sys/kernel/btf/tls", R_OK))
		bpf_program__set_autoload(skel->progs.tls_sw_sendmsg, false);
	if (copycount_bpf__load(skel))
		die("loading the BPF object (needs root and kernel BTF): %s", strerror(errno));
	attach_all();
}

/* ---- selftest ---- */

static int listen_loopback(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1) ||
	    getsockname(s, (struct sockaddr *)&a, &len))
		die("listen: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	return s;
}

static int connect_loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("connect: %s", strerror(errno));
	return s;
}

static void send_all(int s, size_t n)
{
	static char buf[65536];
	memset(buf, 0xa5, sizeof(buf));
	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);
		ssize_t w = send(s, buf, k, 0);
		if (w <= 0)
			die("send: %s", strerror(errno));
		n -= w;
	}
}

static size_t recv_all(int s)
{
	static char buf[65536];
	size_t total = 0;
	ssize_t r;
	while ((r = recv(s, buf, sizeof(buf), 0)) > 0)
		total += r;
	return total;
}

/* The tracked parent sends n bytes to an untracked child, or receives them. */
static struct copy_totals tcp_transfer(size_t n, int parent_sends)
{
	int port, l = listen_loopback(&port);
	track(getpid(), 1);
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		int s = connect_loopback(port);
		if (parent_sends)
			recv_all(s);
		else
			send_all(s, n);
		close(s);
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept: %s", strerror(errno));
	size_t got = 0;
	if (parent_sends)
		send_all(s, n);
	else
		got = recv_all(s);
	shutdown(s, SHUT_WR);
	if (parent_sends)
		recv_all(s);
	int status;
	waitpid(child, &status, 0);
	struct copy_totals t = read_totals(getpid());
	close(s);
	close(l);
	if (!parent_sends && got != n)
		die("received %zu of %zu bytes", got, n);
	return t;
}

static int selftest(void)
{
	const size_t n = 1048576 + 4321;
	int bad = 0;
	char report[2048];
	size_t len = 0;

	struct copy_totals tx = tcp_transfer(n, 1);
	struct copy_totals rx = tcp_transfer(n, 0);
	struct copy_totals fs = file_roundtrip(n);
	track(getpid(), 0);
	/* nothing is printed while counting: a write to the console is a copy too */
#define CHECK(name, got, want)                                                                   \
	do {                                                                                     \
		int ok = (uint64_t)(got) == (uint64_t)(want);                                    \
		bad |= !ok;                                                                      \
		len += snprintf(report + len, sizeof(report) - len,                               \
				"copycount selftest: %-38s expected %9llu counted %9llu  %s\n", name, \
				(unsigned long long)(want), (unsigned long long)(got), ok ? "ok" : "MISMATCH"); \
	} while (0)
	CHECK("tcp send (from user), tracked sender", tx.from_user_bytes, n);
	CHECK("tcp send: untracked receiver not counted", tx.to_user_bytes, 0);
	CHECK("tcp recv (to user), tracked receiver", rx.to_user_bytes, n);
	CHECK("tcp recv: untracked sender not counted", rx.from_user_bytes, 0);
	CHECK("file write (from user)", fs.from_user_bytes, n);
	CHECK("file read (to user)", fs.to_user_bytes, n);
	printf("%scopycount selftest: probes %s\ncopycount selftest: %s\n", report, probes_attached,
	       bad ? "FAILED" : "PASSED");
	return bad;
}

/* ---- run ---- */

static int run(int argc, char **argv)
{
	const char *out = NULL;
	uint32_t pids[64];
	int npids = 0, i;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc && npids < 64)
			pids[npids++] = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else
			die("run: unexpected argument %s", argv[i]);
	}
	if (!out || i >= argc)
		die("usage: copycount run --out FILE [--pid PID]... -- COMMAND [ARG]...");
	for (int k = 0; k < npids; k++)
		track(pids[k], 1);
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		execvp(argv[i], argv + i);
		fprintf(stderr, "copycount: exec %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(child, &status, 0) < 0)
		die("waitpid: %s", strerror(errno));
	FILE *f = fopen(out, "w");
	if (!f)
		die("%s: %s", out, strerror(errno));
	for (int k = 0; k < npids; k++) {
		struct copy_totals t = read_totals(pids[k]);
		fprintf(f, "pid=%u to_user_bytes=%llu from_user_bytes=%llu to_user_calls=%llu from_user_calls=%llu\n",
			pids[k], (unsigned long long)t.to_user_bytes, (unsigned long long)t.from_user_bytes,
			(unsigned long long)t.to_user_calls, (unsigned long long)t.from_user_calls);
	}
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* ---- serve ---- */

/*
 * Keeps the programs attached and answers one command per line on stdin
 * (loading costs seconds under emulation: BTF parsing, trampolines):
 *   selftest            the selftest's report, then "end"
 *   reset PID...        start counting these processes from zero; "ok"
 *   read PID...         one "pid=P ..." line per process, then "end"
 *   untrack PID...      stop counting them; "ok"
 *   detach / attach     remove the probes (so timed runs pay nothing for them)
 *                       and put them back; "ok"
 */
static int serve(void)
{
	char line[4096];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready probes=%s\n", probes_attached);
	while (fgets(line, sizeof(line), stdin)) {
		char *save, *cmd = strtok_r(line, " \t\n", &save), *arg;
		if (!cmd)
			continue;
		if (!strcmp(cmd, "quit"))
			break;
		if (!strcmp(cmd, "detach") || !strcmp(cmd, "attach")) {
			if (cmd[0] == 'a')
				attach_all();
			else
				detach_all();
			printf("ok\n");
			continue;
		}
		if (!strcmp(cmd, "selftest")) {
			selftest();
			printf("end\n");
			continue;
		}
		int is_read = !strcmp(cmd, "read");
		while ((arg = strtok_r(NULL, " \t\n", &save))) {
			uint32_t pid = strtoul(arg, NULL, 10);
			if (!strcmp(cmd, "reset"))
				track(pid, 1);
			else if (!strcmp(cmd, "untrack"))
				track(pid, 0);
			else if (is_read) {
				struct copy_totals t = read_totals(pid);
				printf("pid=%u to_user_bytes=%llu from_user_bytes=%llu to_user_calls=%llu from_user_calls=%llu\n",
				       pid, (unsigned long long)t.to_user_bytes, (unsigned long long)t.from_user_bytes,
				       (unsigned long long)t.to_user_calls, (unsigned long long)t.from_user_calls);
			}
		}
		printf(is_read ? "end\n" : "ok\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: copycount selftest | run --out FILE [--pid PID]... -- COMMAND...");
	setup();
	int rc;
	if (!strcmp(argv[1], "selftest"))
		rc = selftest();
	else if (!strcmp(argv[1], "run"))
		rc = run(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "serve"))
		rc = serve();
	else
		die("unknown command %s", argv[1]);
	copycount_bpf__destroy(skel);
	return rc;
}
