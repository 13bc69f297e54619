# The production image: gunicorn serving the kit, whitenoise serving its static files.
# Build: docker build -t kit .   Run: see docker-compose.yml and docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# A numeric, unprivileged user: the process never runs as root.
RUN groupadd --system --gid 10001 kit \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home kit

# Dependencies in their own layer: rebuilt only when requirements.txt changes. Every
# package is pinned with its hashes (`make lock`); pip refuses anything else.
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt

COPY --chown=10001:10001 . .

# Static files collected at build time, with a key that exists only during this step.
RUN SECRET_KEY=build-only-not-a-secret DEBUG=false python manage.py collectstatic --noinput

USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "config.wsgi"]
