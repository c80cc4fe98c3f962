// SPDX-License-Identifier: GPL-2.0
/*
 * libra-devctl: talks to /dev/libra directly, for the guest tests. Operators
 * use libractl, which goes through librad; this tool exists so the module can
 * be tested on its own.
 *
 *   libra-devctl version              print "abi=N version=X stats=N"
 *   libra-devctl stats                print "name value" per counter
 *   libra-devctl stat NAME            print one counter's value
 *   libra-devctl enable PID [desc] [min=BYTES] [limit=BYTES]
 *                                     opt a process in (desc: and descendants;
 *                                     min: min_body; limit: its anchored-memory limit)
 *   libra-devctl disable PID
 *   libra-devctl entry-stats PID [NAME]  the counters of PID's opt-in entry
 *                                     (a counter not kept per entry prints "-")
 *   libra-devctl set-limit BYTES      the global anchored-memory limit
 *   libra-devctl list                 print "pid flags min_body anchor_limit" per entry
 *   libra-devctl attach-parser OBJ    load the BPF parser object, hand it to the module
 *   libra-devctl sockets [PID]        the tracked sockets (PID: only those it adopted),
 *                                     one line each: "id=N tgid=N local=ADDR:PORT
 *                                     remote=ADDR:PORT role=R flags=F rx_aside=S
 *                                     tx_aside=S" and "name=value" per counter
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/libra.h>

static const char *const stat_names[__LIBRA_STAT_MAX] = {
	[LIBRA_STAT_RECVMSG_CALLS] = "recvmsg_calls",
	[LIBRA_STAT_SENDMSG_CALLS] = "sendmsg_calls",
	[LIBRA_STAT_RECVMSG_ENGAGED] = "recvmsg_engaged",
	[LIBRA_STAT_SENDMSG_ENGAGED] = "sendmsg_engaged",
	[LIBRA_STAT_OPTIN_ENTRIES] = "optin_entries",
	[LIBRA_STAT_CALLS_IN_FLIGHT] = "calls_in_flight",
	[LIBRA_STAT_SOCKETS_TRACKED] = "sockets_tracked",
	[LIBRA_STAT_MESSAGES_PARSED] = "messages_parsed",
	[LIBRA_STAT_BYTES_METADATA_COPIED] = "bytes_metadata_copied",
	[LIBRA_STAT_BYTES_ANCHORED] = "bytes_anchored",
	[LIBRA_STAT_BYTES_ZERO_COPY_SENT] = "bytes_zero_copy_sent",
	[LIBRA_STAT_BYTES_FALLBACK_COPIED] = "bytes_fallback_copied",
	[LIBRA_STAT_ANCHORED_BYTES_NOW] = "anchored_bytes_now",
	[LIBRA_STAT_ANCHORED_BYTES_PEAK] = "anchored_bytes_peak",
	[LIBRA_STAT_ANCHORED_BYTES_LIMIT] = "anchored_bytes_limit",
	[LIBRA_STAT_ANCHORS_NOW] = "anchors_now",
	[LIBRA_STAT_PARSER_ERRORS] = "parser_errors",
	[LIBRA_STAT_FALLBACK_BUDGET] = "fallback_budget",
	[LIBRA_STAT_FALLBACK_SMALL_BODY] = "fallback_small_body",
	[LIBRA_STAT_FALLBACK_NO_PARSER] = "fallback_no_parser",
	[LIBRA_STAT_FALLBACK_DESYNC] = "fallback_desync",
	[LIBRA_STAT_FALLBACK_NOT_ADOPTED] = "fallback_not_adopted",
	[LIBRA_STAT_FALLBACK_UNKNOWN_METHOD] = "fallback_unknown_method",
	[LIBRA_STAT_FALLBACK_PAGE_COPIED] = "fallback_page_copied",
	[LIBRA_STAT_TOKENS_REJECTED] = "tokens_rejected",
	[LIBRA_STAT_ANCHORS_RELEASED] = "anchors_released",
	[LIBRA_STAT_TOKENS_UNFRAMED] = "tokens_unframed",
	[LIBRA_STAT_TX_HOLDS_EXPIRED] = "tx_holds_expired",
	[LIBRA_STAT_TX_RESETS] = "tx_resets",
	[LIBRA_STAT_TIME_RX_HANDLER_NS] = "time_rx_handler_ns",
	[LIBRA_STAT_TIME_TX_HANDLER_NS] = "time_tx_handler_ns",
	[LIBRA_STAT_TIME_ANCHOR_BUILD_NS] = "time_anchor_build_ns",
	[LIBRA_STAT_TIME_PARSE_NS] = "time_parse_ns",
	[LIBRA_STAT_TIME_TOKEN_SCAN_NS] = "time_token_scan_ns",
	[LIBRA_STAT_TIME_PAGE_SEND_NS] = "time_page_send_ns",
	[LIBRA_STAT_BYTES_MATERIALIZED] = "bytes_materialized",
	[LIBRA_STAT_TOKENS_REFUSED] = "tokens_refused",
	[LIBRA_STAT_TLS_PROCESSES] = "tls_processes",
	[LIBRA_STAT_FALLBACK_TLS] = "fallback_tls",
	[LIBRA_STAT_TLS_RESETS] = "tls_resets",
	[LIBRA_STAT_FALLBACK_URGENT] = "fallback_urgent",
	[LIBRA_STAT_ANCHORS_EXPIRED] = "anchors_expired",
	[LIBRA_STAT_REGIONS_CUT] = "regions_cut",
	[LIBRA_STAT_OPTIN_EXPIRED] = "optin_expired",
	[LIBRA_STAT_SOCKETS_RESET] = "sockets_reset",
	[LIBRA_STAT_FALLBACK_PIPELINE] = "fallback_pipeline",
	[LIBRA_STAT_TIME_ZERO_FILL_NS] = "time_zero_fill_ns",
	[LIBRA_STAT_TIME_MATERIALIZE_NS] = "time_materialize_ns",
	[LIBRA_STAT_FALLBACK_TRANSFORMABLE] = "fallback_transformable",
	[LIBRA_STAT_FALLBACK_EGRESS] = "fallback_egress",
	[LIBRA_STAT_BYTES_KTLS_SENT] = "bytes_ktls_sent",
};
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == __LIBRA_STAT_MAX, "name every counter");

static const char *const socket_stat_names[__LIBRA_SOCKET_STAT_MAX] = {
	[LIBRA_SOCKET_STAT_MESSAGES_PARSED] = "messages_parsed",
	[LIBRA_SOCKET_STAT_BYTES_METADATA_COPIED] = "bytes_metadata_copied",
	[LIBRA_SOCKET_STAT_BYTES_ANCHORED] = "bytes_anchored",
	[LIBRA_SOCKET_STAT_BYTES_ZERO_COPY_SENT] = "bytes_zero_copy_sent",
	[LIBRA_SOCKET_STAT_BYTES_FALLBACK_COPIED] = "bytes_fallback_copied",
	[LIBRA_SOCKET_STAT_TOKENS_REJECTED] = "tokens_rejected",
	[LIBRA_SOCKET_STAT_TOKENS_UNFRAMED] = "tokens_unframed",
	[LIBRA_SOCKET_STAT_TX_HOLDS_EXPIRED] = "tx_holds_expired",
	[LIBRA_SOCKET_STAT_TX_RESETS] = "tx_resets",
	[LIBRA_SOCKET_STAT_BYTES_MATERIALIZED] = "bytes_materialized",
	[LIBRA_SOCKET_STAT_TOKENS_REFUSED] = "tokens_refused",
	[LIBRA_SOCKET_STAT_REGIONS_CUT] = "regions_cut",
};
_Static_assert(sizeof(socket_stat_names) / sizeof(socket_stat_names[0]) == __LIBRA_SOCKET_STAT_MAX,
	       "name every per-socket counter");

static const char *const role_names[] = { "unknown", "client", "server", "pass" };

static int die(const char *what)
{
	fprintf(stderr, "libra-devctl: %s: %s\n", what, strerror(errno));
	return 1;
}

static int read_stats(int fd, uint64_t *values)
{
	struct libra_stats req = { .count = __LIBRA_STAT_MAX, .values = (uintptr_t)values };

	return ioctl(fd, LIBRA_IOC_GET_STATS, &req);
}

/* Prints every counter ("name value"), or only @name's value; 2 if no such counter. */
static int print_stats(const uint64_t *values, uint64_t counted, const char *name)
{
	for (int i = 0; i < __LIBRA_STAT_MAX; i++) {
		char value[24] = "-";

		if (counted & (1ULL << i))
			snprintf(value, sizeof(value), "%llu", (unsigned long long)values[i]);
		if (!name) {
			printf("%s %s\n", stat_names[i], value);
		} else if (!strcmp(name, stat_names[i])) {
			printf("%s\n", value);
			return 0;
		}
	}
	if (name) {
		fprintf(stderr, "libra-devctl: no counter %s\n", name);
		return 2;
	}
	return 0;
}

/* "why a direction stepped aside": the counter that counted it, "-" for none */
static const char *aside_name(unsigned int reason)
{
	return reason < __LIBRA_STAT_MAX ? stat_names[reason] : "-";
}

static void print_endpoint(const char *label, unsigned int family, const __u8 *addr, unsigned int port)
{
	char text[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, text, sizeof(text));
	printf(family == AF_INET6 ? " %s=[%s]:%u" : " %s=%s:%u", label, text, port);
}

/* One line per tracked socket (of @tgid, 0: all); sockets that came meanwhile are not waited for. */
static int list_sockets(int fd, int tgid)
{
	struct libra_socket_list req = { .tgid = tgid };
	struct libra_socket_info *entries = NULL;

	for (;;) {
		if (ioctl(fd, LIBRA_IOC_LIST_SOCKETS, &req))
			return die("LIBRA_IOC_LIST_SOCKETS");
		if (req.total <= req.count || req.count == LIBRA_SOCKET_LIST_MAX)
			break;
		/* more than there was room for: ask again with room and some to spare */
		free(entries);
		req.count = req.total + 16;
		entries = calloc(req.count, sizeof(*entries));
		if (!entries)
			return die("calloc");
		req.entries = (uintptr_t)entries;
	}
	for (unsigned int i = 0; i < req.count; i++) {
		const struct libra_socket_info *s = &entries[i];

		printf("id=%llu tgid=%d", (unsigned long long)s->id, s->tgid);
		print_endpoint("local", s->family, s->local_addr, s->local_port);
		print_endpoint("remote", s->family, s->remote_addr, s->remote_port);
		printf(" role=%s flags=%#x rx_aside=%s tx_aside=%s",
		       s->role < sizeof(role_names) / sizeof(role_names[0]) ? role_names[s->role] : "?",
		       s->flags, aside_name(s->rx_aside), aside_name(s->tx_aside));
		for (unsigned int j = 0; j < __LIBRA_SOCKET_STAT_MAX && j < req.stat_count; j++)
			printf(" %s=%llu", socket_stat_names[j], (unsigned long long)s->values[j]);
		printf("\n");
	}
	free(entries);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t values[__LIBRA_STAT_MAX] = { 0 };
	const char *cmd = argc > 1 ? argv[1] : "";
	int fd = open("/dev/" LIBRA_DEVICE_NAME, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return die("open /dev/" LIBRA_DEVICE_NAME);

	if (!strcmp(cmd, "version")) {
		struct libra_version v;

		if (ioctl(fd, LIBRA_IOC_GET_VERSION, &v))
			return die("LIBRA_IOC_GET_VERSION");
		printf("abi=%u version=%.*s stats=%u\n", v.abi_version,
		       (int)sizeof(v.module_version), v.module_version, v.stat_count);
		return v.abi_version == LIBRA_ABI_VERSION ? 0 : 3;
	}
	if (!strcmp(cmd, "stats") || !strcmp(cmd, "stat")) {
		if (read_stats(fd, values))
			return die("LIBRA_IOC_GET_STATS");
		return print_stats(values, ~0ULL, argc > 2 ? argv[2] : NULL);
	}
	if (!strcmp(cmd, "entry-stats") && argc > 2) {
		struct libra_optin_stats req = {
			.entry = { .pid = atoi(argv[2]) },
			.count = __LIBRA_STAT_MAX,
			.values = (uintptr_t)values,
		};

		if (ioctl(fd, LIBRA_IOC_OPTIN_STATS, &req))
			return die("LIBRA_IOC_OPTIN_STATS");
		return print_stats(values, req.counted, argc > 3 ? argv[3] : NULL);
	}
	if (!strcmp(cmd, "set-limit") && argc > 2) {
		struct libra_anchor_limit req = { .bytes = strtoull(argv[2], NULL, 0) };

		if (ioctl(fd, LIBRA_IOC_SET_ANCHOR_LIMIT, &req))
			return die("LIBRA_IOC_SET_ANCHOR_LIMIT");
		return 0;
	}
	if ((!strcmp(cmd, "enable") || !strcmp(cmd, "disable")) && argc > 2) {
		struct libra_optin req = { .pid = atoi(argv[2]) };

		for (int i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "desc"))
				req.flags |= LIBRA_OPTIN_F_DESCENDANTS;
			else if (!strncmp(argv[i], "min=", 4))
				req.min_body = strtoul(argv[i] + 4, NULL, 0);
			else if (!strncmp(argv[i], "limit=", 6))
				req.anchor_limit = strtoull(argv[i] + 6, NULL, 0);
			else {
				fprintf(stderr, "libra-devctl: unknown option %s\n", argv[i]);
				return 2;
			}
		}
		if (ioctl(fd, cmd[0] == 'e' ? LIBRA_IOC_OPTIN_ADD : LIBRA_IOC_OPTIN_DEL, &req))
			return die(cmd);
		return 0;
	}
	if (!strcmp(cmd, "list")) {
		struct libra_optin entries[LIBRA_OPTIN_MAX];
		struct libra_optin_list req = { .count = LIBRA_OPTIN_MAX, .entries = (uintptr_t)entries };

		if (ioctl(fd, LIBRA_IOC_LIST_OPTINS, &req))
			return die("LIBRA_IOC_LIST_OPTINS");
		for (unsigned int i = 0; i < req.count; i++)
			printf("%d %#x %u %llu\n", entries[i].pid, entries[i].flags, entries[i].min_body,
			       (unsigned long long)entries[i].anchor_limit);
		return 0;
	}
	if (!strcmp(cmd, "attach-parser") && argc > 2) {
		struct bpf_object *obj = bpf_object__open_file(argv[2], NULL);
		struct bpf_program *prog;
		struct libra_parser_attach req = { .prog_fd = -1 };

		if (!obj || libbpf_get_error(obj))
			return die("open BPF object");
		prog = bpf_object__find_program_by_name(obj, "libra_http_parse");
		if (!prog) {
			fprintf(stderr, "libra-devctl: no program libra_http_parse in %s\n", argv[2]);
			return 1;
		}
		if (bpf_object__load(obj))
			return die("load BPF object");
		req.prog_fd = bpf_program__fd(prog);
		if (ioctl(fd, LIBRA_IOC_ATTACH_PARSER, &req))
			return die("LIBRA_IOC_ATTACH_PARSER");
		bpf_object__close(obj);
		return 0;
	}
	if (!strcmp(cmd, "sockets"))
		return list_sockets(fd, argc > 2 ? atoi(argv[2]) : 0);
	fprintf(stderr, "usage: libra-devctl version|stats|stat NAME|enable PID [desc] [min=B] [limit=B]|"
			"disable PID|entry-stats PID [NAME]|set-limit BYTES|list|attach-parser OBJ|"
			"sockets [PID]\n");
	return 2;
}
