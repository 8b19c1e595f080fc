"""gunicorn settings every way of serving uses (gunicorn reads ./gunicorn.conf.py from the
working directory: scripts/serve.sh, the Dockerfile, scripts/schemathesis.sh, benchmarks).

A request line up to 8190 bytes (gunicorn's maximum; its default is 4094): LTI login
initiation arrives as a GET whose query carries the platform's hints, and a line gunicorn
refuses gets its own HTML 400 instead of the API's JSON errors. Longer lines are refused.
"""

limit_request_line = 8190
