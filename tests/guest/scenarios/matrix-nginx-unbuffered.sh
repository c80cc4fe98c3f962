# Issue 5's matrix under Debian's nginx with proxy_buffering off and
# proxy_request_buffering off: responses go out as they arrive, uploads are
# streamed to the backend (chunked ones chunked). See matrix.inc.sh.
PROXY=nginx
NGINX_EXTRA="proxy_buffering off; proxy_request_buffering off;"
source "$LIBRA_SRC/tests/guest/scenarios/matrix.inc.sh"
