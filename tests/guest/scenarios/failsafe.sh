# The fail-safe cases (tools/failsafe.c), one per hazard of the review: a
# received buffer written to an AF_UNIX socket, a pipe, a file; a region
# sent over a stream whose framing libra does not follow, with foreign bytes
# inside it; a body shorter than its region followed by another response;
# a body re-chunked with its tokens cut by the chunks, HAProxy's way;
# an RST after partial data under MSG_WAITALL and SO_RCVLOWAT; urgent data
# inside a body; two threads sending on one socket; connect(AF_UNSPEC) and a
# reconnect; a spent token sent again; a send after shutdown (EPIPE, nothing
# refused); a fork child sending its parent's
# tokens; an upload proxied to a TLS upstream; MSG_ZEROCOPY; io_uring's
# SEND_ZC; expired anchors, and a response held unsent past their time
# (its tokens still in place: it stays, unless anchored memory is over half
# the budget); kernel TLS (ktls-*: every cipher the kernel has, odd buffers
# and writev() (a thousand small iovecs a call too), records, a region cut
# by the program's writes, waiting for room, close with bytes pending, two
# threads sending on one socket,
# sendfile() and splice(), a handshake in the clear before TLS_TX, a
# handshake opened on another connection while regions are halfway out, a
# held last byte that only the hold's expiry, a close or a shutdown sends),
# where libra on sends whole regions zero-copy. Each Libra off, then on:
# byte-exact at the far end, or the connection fails and no token's bytes
# reach a peer.
source "$LIBRA_SRC/tests/guest/lib.sh"

FAILSAFE=$LIBRA_BUILD/tests/guest/failsafe
[[ -x $FAILSAFE ]] || fail "failsafe is not built"

libra_load
libra_attach_parser
# The ktls-* cases: kernel TLS and its ciphers. Loaded here: the kernel's
# own module requests would run /sbin/modprobe of the initramfs, which has none.
modprobe tls || fail "modprobe tls"
for m in ctr gcm ghash_generic ghash_clmulni_intel aesni_intel chacha_generic chacha_x86_64 \
	poly1305_generic poly1305_x86_64 chacha20poly1305; do
	modprobe "$m" 2>/dev/null || say "modprobe $m failed (built in, or not for this CPU)"
done

rc=0
"$FAILSAFE" || rc=$?
say "failsafe exited $rc"
wait_anchors_released
((rc == 0)) || { "$DEVCTL" stats; fail "failsafe failed (exit $rc)"; }
# each case opted its own process in and exited: the entries go by themselves
for _ in $(seq 50); do "$DEVCTL" list | grep -q . || break; sleep 0.1; done
"$DEVCTL" list | grep -q . && fail "opt-ins of exited processes were left behind: $("$DEVCTL" list)"
libra_unload
