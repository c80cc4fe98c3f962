# Issue 5's matrix under Debian's nginx with the settings the README
# recommends for an opted-in nginx: large proxy buffers (regions up to 64 KiB,
# a readv of eight of them), and no response buffered in a temp file (where
# libra writes the regions out and gains nothing): every large body must go
# out zero-copy. See matrix.inc.sh.
PROXY=nginx
NGINX_EXTRA="proxy_buffer_size 64k; proxy_buffers 8 64k; proxy_max_temp_file_size 0;"
source "$LIBRA_SRC/tests/guest/scenarios/matrix.inc.sh"
