-- wrk script for POST uploads: the body is the file named by BENCH_BODY_FILE.
-- (wrk adds Content-Length; the backend answers "ok" to /upload.)
local path = os.getenv("BENCH_BODY_FILE")
local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
