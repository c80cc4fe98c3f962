# Issue 5's matrix under Debian's nginx with the large proxy buffers the
# README recommends for an opted-in nginx: regions up to 64 KiB, a readv of
# eight of them. See matrix.inc.sh.
PROXY=nginx
NGINX_EXTRA="proxy_buffer_size 64k; proxy_buffers 8 64k;"
source "$LIBRA_SRC/tests/guest/scenarios/matrix.inc.sh"
