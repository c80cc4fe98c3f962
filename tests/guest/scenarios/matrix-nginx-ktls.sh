# Issue 14: the matrix (matrix.inc.sh: every size, Content-Length and chunked,
# keep-alive, pipelining, uploads, 32 connections; Libra off, then on; sha256
# at the far end) through nginx terminating TLS with kernel TLS (TLS 1.3,
# AES-GCM-128: what curl and nginx agree on by default), nginx's temp file
# off as the README recommends. Libra on must send at least 90% of the
# bytes of GET bodies of 64 KiB and more from anchored pages through the
# kernel's encryption (bytes_ktls_sent).
#
# Then every other protocol version and cipher the kernel's TLS has: TLS 1.2
# and 1.3 with AES-GCM-128, AES-GCM-256 and ChaCha20-Poly1305, each through
# a fresh nginx off and on: GETs of 1 MiB (Content-Length) and 4 MiB
# (chunked), an upload of 1 MiB, byte-exact; the kernel must have done the
# encryption (TlsTxSw grew) and, on, bytes_ktls_sent must cover 90% of the
# GET bodies. Debian's OpenSSL 3.0 keeps ChaCha20-Poly1305 in user space
# (the kernel has it: failsafe ktls-ciphers runs it with fixed keys): those
# passes must be byte-exact with nothing sent through kernel TLS.
PROXY=nginx
NGINX_EXTRA="proxy_max_temp_file_size 0;"
MATRIX_TLS="ssl_protocols TLSv1.3; ssl_conf_command Options KTLS;"

# ktls_pass LABEL TLS_DIRECTIVES: one version and cipher, Libra off then on.
ktls_pass() {
	local label=$1 tls=$2 mode port tx0 ktls0 ktls got gets=$((M + 4 * M))
	for mode in off on; do
		port=8180
		[[ $mode == on ]] && port=8190
		NGINX_TLS="$tls" start_nginx_proxy "$port" "$BACKEND" "ktls-$label-$mode" \
			"client_max_body_size 64m; proxy_max_temp_file_size 0;"
		if [[ $mode == on ]]; then "$DEVCTL" enable "$PROXY_PID" desc || fail "opt-in of nginx"; fi
		tx0=$(tls_stat TlsTxSw) ktls0=$(stat_of bytes_ktls_sent)
		curl -sSf --max-time 300 "${CURL_TLS[@]}" -o "$WORK/out/kc" "https://127.0.0.1:$port/file/$M" \
			-o "$WORK/out/kch" "https://127.0.0.1:$port/file/$((4 * M))?chunk=65536" \
			|| problem "$label $mode: curl exited $?"
		got=$(curl -sSf --max-time 300 "${CURL_TLS[@]}" -X POST --data-binary "@$WORK/www/$M" \
			"https://127.0.0.1:$port/upload/ktls") || problem "$label $mode: the upload failed"
		[[ "$(sha256sum < "$WORK/out/kc" | cut -d' ' -f1) $(stat -c %s "$WORK/out/kc")" == "${SUM[$M]}" ]] \
			|| problem "$label $mode: the 1 MiB GET differs"
		[[ "$(sha256sum < "$WORK/out/kch" | cut -d' ' -f1) $(stat -c %s "$WORK/out/kch")" == "${SUM[$((4 * M))]}" ]] \
			|| problem "$label $mode: the chunked 4 MiB GET differs"
		[[ $got == "${SUM[$M]}" ]] || problem "$label $mode: the upload arrived as '$got'"
		rm -f "$WORK/out/kc" "$WORK/out/kch"
		ktls=$(($(stat_of bytes_ktls_sent) - ktls0))
		say "[$mode] $label: checked; TlsTxSw $tx0 -> $(tls_stat TlsTxSw), TlsRxSw $(tls_stat TlsRxSw)," \
			"bytes_ktls_sent +$ktls of $gets"
		if (($(tls_stat TlsTxSw) > tx0)); then
			[[ $mode == off ]] || ((ktls * 10 >= gets * 9)) \
				|| problem "$label on: bytes_ktls_sent $ktls is below 90% of $gets"
		elif [[ $label == *CHACHA20 ]]; then
			# Debian's OpenSSL 3.0 does not hand ChaCha20-Poly1305 to the kernel
			# (which has it: failsafe ktls-ciphers): TLS in user space, then,
			# which libra must leave alone
			say "[$mode] $label: OpenSSL kept the encryption in user space"
			((ktls == 0)) || problem "$label $mode: bytes_ktls_sent moved without kernel TLS"
		else
			problem "$label $mode: kernel TLS was not used (TlsTxSw did not grow)"
		fi
		[[ $mode == on ]] && "$DEVCTL" disable "$PROXY_PID"
		stop_proxy
	done
}

matrix_extra() {
	local version cipher c
	for version in 1.2 1.3; do
		for cipher in AES128-GCM AES256-GCM CHACHA20; do
			[[ $version == 1.3 && $cipher == AES128-GCM ]] && continue	# the matrix's
			case $version/$cipher in
			1.2/AES128-GCM) c="ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;" ;;
			1.2/AES256-GCM) c="ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384;" ;;
			1.2/CHACHA20) c="ssl_ciphers ECDHE-ECDSA-CHACHA20-POLY1305;" ;;
			1.3/AES256-GCM) c="ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;" ;;
			1.3/CHACHA20) c="ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;" ;;
			esac
			ktls_pass "tls$version-$cipher" "ssl_protocols TLSv$version; $c ssl_conf_command Options KTLS;"
		done
	done
}

source "$LIBRA_SRC/tests/guest/scenarios/matrix.inc.sh"
