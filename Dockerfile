# Slim, non-root image serving with gunicorn; migrations run on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000 \
    TRUSTED_PROXIES=1 \
    DEV_PLATFORM=0

WORKDIR /app
RUN useradd --create-home --uid 10001 app

COPY pyproject.toml constraints.txt README.md alembic.ini gunicorn.conf.py ./
COPY service ./service
COPY lti ./lti
COPY schemas ./schemas
COPY migrations ./migrations
COPY criteria_data ./criteria_data
# Editable: the code, migrations and content stay in /app where the service looks for them.
RUN pip install --no-cache-dir -c constraints.txt -e . && chown -R app:app /app

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz')"]
# The web server. Grade passback needs one or more workers as processes of their own, from the
# same image and DATABASE_URL, e.g. `docker run ... IMAGE assessment worker` (it runs until
# SIGTERM, finishing the sends in flight; run several for more throughput: they share the queue).
CMD ["sh", "-c", "assessment db upgrade && assessment content load && exec gunicorn --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-2} service.wsgi:app"]
