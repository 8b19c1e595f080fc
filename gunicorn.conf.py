"""gunicorn settings every way of serving uses (gunicorn reads ./gunicorn.conf.py from the
working directory: scripts/serve.sh, the Dockerfile, scripts/schemathesis.sh, benchmarks).

A request line up to 8190 bytes (gunicorn's maximum; its default is 4094): LTI login
initiation arrives as a GET whose query carries the platform's hints, and a line gunicorn
refuses gets its own HTML 400 instead of the API's JSON errors. Longer lines are refused.

Workers are gthread: each process (WEB_CONCURRENCY of them, set on the command line) serves
GUNICORN_THREADS requests at once, and a connection that is idle (a browser's keep-alive
connection inside the LMS frame, or a speculative one that never sends a request) waits in the
worker's poller, not in a thread. A sync worker reads the one connection it accepted until a
request arrives: a connection left idle blocked the worker until gunicorn's 30 s timeout
killed it. Threads per process stay below the database pool (10 + 10 overflow, service/db.py).
"""

import os

limit_request_line = 8190
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Seconds an idle keep-alive connection is kept before the worker closes it.
keepalive = 5
