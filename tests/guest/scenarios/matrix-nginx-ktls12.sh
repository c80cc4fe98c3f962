# Issue 14: the matrix (matrix.inc.sh) through nginx with kernel TLS over
# TLS 1.2 (AES-GCM-128), where OpenSSL sets up kernel TLS for receiving too:
# requests and uploads arrive decrypted by the kernel (TlsRxSw), a path
# TLS 1.3 never takes with Debian's OpenSSL 3.0 (matrix-nginx-ktls). Libra
# off, then on, sha256 at the far end; on, at least 90% of the bytes of GET
# bodies of 64 KiB and more leave from anchored pages through kernel TLS.
PROXY=nginx
NGINX_EXTRA="proxy_max_temp_file_size 0;"
MATRIX_TLS="ssl_protocols TLSv1.2; ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256; ssl_conf_command Options KTLS;"

matrix_extra() {
	local rx
	rx=$(tls_stat TlsRxSw)
	((rx > 0)) || problem "kernel TLS never received (TlsRxSw $rx): the TLS 1.2 receive path was not tested"
	say "kernel TLS receive contexts: TlsRxSw $rx"
}

source "$LIBRA_SRC/tests/guest/scenarios/matrix.inc.sh"
