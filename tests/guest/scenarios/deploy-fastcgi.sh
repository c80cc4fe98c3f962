# Issue 13, deployments: nginx opted in in front of a FastCGI application
# (tools/fcgi_responder.py, which checks every record header it receives and
# answers the sha256 and length of the request body it got).
#
# Uploads of 20 KiB to 4 MiB, each on its own connection, with 0-31 body
# bytes in the same segment as the request head (tools/abuse_client.py
# upload), so that the body starts at a different offset in nginx's buffers
# and the 32 KiB FCGI_STDIN records nginx cuts from them fall at different
# places in the body:
#   /tcp/    fastcgi_pass 127.0.0.1:9000 (request buffering: nginx reads the
#            whole body, to its temp file past client_body_buffer_size, then
#            sends it as STDIN records)
#   /unix/   fastcgi_pass unix:... (the same over an AF_UNIX socket)
#   /keep/   over TCP through an upstream with keepalive and
#            fastcgi_keep_conn on (requests follow each other on a connection)
#   /nobuf/  over TCP with fastcgi_request_buffering off (each piece read is
#            sent on at once, in its own record)
#   /file/   client_body_in_file_only on, fastcgi_pass_request_body off: the
#            application reads the body from $request_body_file (the
#            REQUEST_BODY_FILE parameter), so the file's content is checked
# Content-Length and chunked request bodies. Libra off, then on; everything
# compared by sha256 at the application (its answer) and off against on;
# anchored memory back to 0 with nginx running; kernel log clean.
source "$LIBRA_SRC/tests/guest/lib.sh"
source "$LIBRA_SRC/tests/guest/abuse.inc.sh"

libra_load
libra_attach_parser

# Originals: random content, one file per size.
sizes=(20480 24577 32768 32775 65536 98311 262147 1048576 1500007 4194304)
make_originals "${sizes[@]}"

FCGI_SOCK=$WORK/fcgi.sock
python3 "$LIBRA_SRC/tests/guest/tools/fcgi_responder.py" --tcp 127.0.0.1:9000 --unix "$FCGI_SOCK" \
	--log "$WORK/fcgi.log" 2> "$WORK/fcgi.err" &
wait_port 9000
wait_unix_socket "$FCGI_SOCK"

# The FastCGI parameters the responder looks at (no fastcgi_params include:
# SCRIPT_FILENAME and the rest mean nothing to it).
P='fastcgi_param REQUEST_METHOD $request_method; fastcgi_param REQUEST_URI $request_uri;
		fastcgi_param CONTENT_LENGTH $content_length; fastcgi_param CONTENT_TYPE $content_type;
		fastcgi_read_timeout 60s; fastcgi_send_timeout 60s;'

fastcgi() {
	local port locations transports=(tcp unix keep nobuf file) t i s k specs=() label framing suffix
	port=$(pass_port 8080)
	locations="
		location /tcp/ { fastcgi_pass 127.0.0.1:9000; $P }
		location /unix/ { fastcgi_pass unix:$FCGI_SOCK; $P }
		location /keep/ { fastcgi_pass fcgi_keep; fastcgi_keep_conn on; $P }
		location /nobuf/ { fastcgi_pass 127.0.0.1:9000; fastcgi_request_buffering off; $P }
		location /file/ {
			client_body_in_file_only on;
			client_body_temp_path $WORK/nginx-fcgi-$MODE/body;
			fastcgi_pass_request_body off;
			fastcgi_param REQUEST_BODY_FILE \$request_body_file;
			fastcgi_pass unix:$FCGI_SOCK; $P
		}"
	abuse_nginx "nginx-fcgi-$MODE" "$port" "$locations" \
		"upstream fcgi_keep { server 127.0.0.1:9000; keepalive 4; }"
	opted_in "$PROXY_PID" nginx
	: > "$WORK/fcgi.log"

	for t in "${!transports[@]}"; do
		phase_begin "${transports[$t]}"
		specs=()
		for i in "${!sizes[@]}"; do
			s=${sizes[$i]}
			k=$(((i * 7 + t * 11) % 32))	# the body bytes in the head's segment
			((i == 0)) && k=$((t % 2 ? 31 : 0))
			framing=cl suffix=
			((i % 3 == 2)) && framing=chunked suffix=:chunked
			label="${transports[$t]}.$s.$framing.k$k"
			specs+=("$label=/${transports[$t]}/up$i:$WORK/www/$s:$k$suffix")
			expect "$label 200 ${SUM[$s]}"
		done
		stall_watch 120 "${ABUSE_CLIENT[@]}" upload "$port" "${specs[@]}" > "$WORK/out" \
			|| problem "the upload client exited $?"
		cat "$WORK/out" >> "$WORK/record.$MODE"
		anchors_back_to_zero "the ${transports[$t]} uploads"
		phase_end
	done

	local errors
	errors=$(grep -c '^ERROR' "$WORK/fcgi.log" || true)
	say "[$MODE] the FastCGI responder: $(grep -c '^ok' "$WORK/fcgi.log" || true) requests ok, $errors framing or body errors"
	if ((errors)); then
		grep '^ERROR' "$WORK/fcgi.log" | head -n 20
		problem "the FastCGI responder found $errors framing or body errors (above)"
	fi
	grep -q 'token magics' "$WORK/fcgi.log" && { say "[$MODE] bodies with Libra tokens in them:"; grep 'token magics' "$WORK/fcgi.log" | head -n 10; }
	local kept
	kept=$(find "$PROXY_DIR/body" -type f 2>/dev/null | wc -l || true)
	((kept >= ${#sizes[@]})) || problem "nginx kept $kept request body files, not ${#sizes[@]}: /file/ did not test client_body_in_file_only"
	show_errors "$PROXY_DIR/logs/error.log" nginx
	stop_pid "$PROXY_PID" nginx
}

abuse_passes fastcgi
abuse_finish
