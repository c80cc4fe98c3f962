// SPDX-License-Identifier: GPL-2.0
/*
 * copycount: bytes copied across the user/kernel boundary by chosen
 * processes, measured in the kernel independently of Libra's own counters.
 *
 * The leaf copy routines (_copy_to_iter, _copy_from_iter*, in
 * lib/iov_iter.c) cannot be probed on Debian's 6.1 kernel: they have no
 * ftrace site, and kprobe events refuse such functions ("Could not probe
 * notrace function"). So the counter sits one level up, at the traceable
 * functions every socket and file data copy for a user buffer goes through:
 *
 *   kernel -> user  skb_copy_datagram_iter  (recv/read on sockets: tcp_recvmsg)
 *                   shmem_file_read_iter    (reads of tmpfs files: nginx temp files)
 *                   filemap_read            (reads of other page-cache files)
 *   user -> kernel  tcp_sendmsg_locked      (send/write on TCP sockets; the return
 *                                            value is what was taken from the user)
 *                   tls_sw_sendmsg          (send/write on kernel-TLS sockets: the
 *                                            plaintext the records are built from;
 *                                            attached when the tls module is loaded)
 *                   generic_perform_write   (writes to page-cache files, tmpfs too)
 *
 * Only user-backed iterators (ITER_UBUF, ITER_IOVEC) count: a kernel to
 * kernel copy (pipe, bvec, kvec) crosses no boundary. The iterator type
 * values differ between 6.1 and 6.12, so they come from the running kernel's
 * BTF (CO-RE enum relocations). Pages sent by reference (sendpage, splice,
 * Libra's anchors) are not copies and are not counted.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* Local views of kernel types, relocated against the running kernel. */
enum iter_type {
	ITER_IOVEC,
	ITER_UBUF,
};

struct iov_iter {
	__u8 iter_type;
	__kernel_size_t count;
} __attribute__((preserve_access_index));

struct msghdr {
	struct iov_iter msg_iter;
} __attribute__((preserve_access_index));

struct copy_totals {
	__u64 to_user_bytes;	/* kernel -> user (recv, read) */
	__u64 from_user_bytes;	/* user -> kernel (send, write) */
	__u64 to_user_calls;
	__u64 from_user_calls;
};

/* per measured process (tgid): present only for the processes being measured */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct copy_totals);
} totals SEC(".maps");

static __always_inline void account(struct iov_iter *i, __u64 bytes, int to_user, int clamp)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct copy_totals *t;
	__u8 type;
	__u64 count;

	t = bpf_map_lookup_elem(&totals, &tgid);
	if (!t)
		return;
	type = BPF_CORE_READ(i, iter_type);
	if (type != bpf_core_enum_value(enum iter_type, ITER_UBUF) &&
	    type != bpf_core_enum_value(enum iter_type, ITER_IOVEC))
		return;
	if (clamp) {	/* a request is clamped to what the iterator holds */
		count = BPF_CORE_READ(i, count);
		if (bytes > count)
			bytes = count;
	}
	if (to_user) {
		t->to_user_bytes += bytes;
		t->to_user_calls++;
	} else {
		t->from_user_bytes += bytes;
		t->from_user_calls++;
	}
}

/* int skb_copy_datagram_iter(const struct sk_buff *from, int offset, struct iov_iter *to, int size) */
SEC("kprobe/skb_copy_datagram_iter")
int BPF_KPROBE(skb_copy_datagram_iter, void *skb, int offset, struct iov_iter *to, int size)
{
	if (size > 0)
		account(to, size, 1, 1);
	return 0;
}

/* ssize_t shmem_file_read_iter(struct kiocb *iocb, struct iov_iter *to) */
SEC("fexit/shmem_file_read_iter")
int BPF_PROG(shmem_file_read_iter, void *iocb, struct iov_iter *to, long ret)
{
	if (ret > 0)
		account(to, ret, 1, 0);
	return 0;
}

/* ssize_t filemap_read(struct kiocb *iocb, struct iov_iter *iter, ssize_t already_read) */
SEC("fexit/filemap_read")
int BPF_PROG(filemap_read, void *iocb, struct iov_iter *iter, long already_read, long ret)
{
	if (ret > already_read)
		account(iter, ret - already_read, 1, 0);
	return 0;
}

/* int tcp_sendmsg_locked(struct sock *sk, struct msghdr *msg, size_t size) */
SEC("fexit/tcp_sendmsg_locked")
int BPF_PROG(tcp_sendmsg_locked, void *sk, struct msghdr *msg, __u64 size, int ret)
{
	if (ret > 0)
		account(&msg->msg_iter, ret, 0, 0);
	return 0;
}

/* int tls_sw_sendmsg(struct sock *sk, struct msghdr *msg, size_t size), in the tls module */
SEC("fexit/tls_sw_sendmsg")
int BPF_PROG(tls_sw_sendmsg, void *sk, struct msghdr *msg, __u64 size, int ret)
{
	if (ret > 0)
		account(&msg->msg_iter, ret, 0, 0);
	return 0;
}

/* ssize_t generic_perform_write(struct kiocb *iocb, struct iov_iter *i) */
SEC("fexit/generic_perform_write")
int BPF_PROG(generic_perform_write, void *iocb, struct iov_iter *i, long ret)
{
	if (ret > 0)
		account(i, ret, 0, 0);
	return 0;
}
