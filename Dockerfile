# syntax=docker/dockerfile:1
# BRX Sync image: one image for every role (api, worker, migrate, sandbox); the command picks it.
# Build: docker build -t brx-sync:latest .      Run: see docs/running.md

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: the project's wheel and every dependency's wheel, from the repo's own files ----
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Compilers live only here, for a dependency without a binary wheel on the target platform.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY src ./src
# The whole service (`server`) and boto3 for AWS_SSM_ENABLED=true (`aws`), at the versions the
# tests ran with: constraints.txt is the lock (`nox -s lock` regenerates it).
RUN pip wheel --wheel-dir /wheels --constraint constraints.txt '.[server,aws]'

# ---- runtime: slim, no compilers, no sources, non-root ----
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 brx \
    && useradd --system --uid 10001 --gid brx --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin brx \
    && mkdir -p /app \
    && chown brx:brx /app

# The wheels are bind-mounted from the builder, so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels 'brx-sync[server,aws]'

WORKDIR /app
USER 10001:10001

EXPOSE 8000

# Liveness only (no I/O): readiness is the orchestrator's business (/health/ready).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4)"]

CMD ["brx-sync", "serve", "--host", "0.0.0.0", "--port", "8000"]
