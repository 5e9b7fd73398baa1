# Ketamine Evidence Assistant: the HTTP API, the chat widget and (when configured) the Slack bot,
# served by gunicorn. The evidence index is built into the image, so a container answers offline
# from its first request.
#
#   docker build -t ketamine-evidence-assistant .
#   docker run --rm -p 8000:8000 ketamine-evidence-assistant      # then open http://localhost:8000/
#
# Configure with ASSISTANT_* variables (see docs/api.md), e.g. ASSISTANT_WEB__CORS_ORIGINS,
# ASSISTANT_WEB__API_KEYS, ASSISTANT_WEB__RATE_LIMIT_STORAGE=redis://..., ASSISTANT_WEB__WORKERS.
# Conversations live in SQLite inside the container by default; to keep them, mount a volume
# writable by uid 10001 and set ASSISTANT_WEB__CONVERSATIONS_URL=sqlite:////<volume>/conversations.sqlite3,
# or point it at PostgreSQL when several containers serve together.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: install the package and its dependencies into a virtual environment
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml ./
COPY assistant ./assistant
RUN pip install ".[postgres]"

# ---- runtime: the virtual environment, the corpus, the prompts and a prebuilt index
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    ASSISTANT_DATA_DIR=/app/data \
    ASSISTANT_CORPUS_DIR=/app/corpus \
    ASSISTANT_PROMPTS_DIR=/app/prompts \
    ASSISTANT_WEB__PORT=8000
RUN groupadd --system --gid 10001 assistant \
 && useradd --system --uid 10001 --gid assistant --home-dir /app --no-create-home --shell /usr/sbin/nologin assistant
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY corpus ./corpus
COPY prompts ./prompts
# Build the index now (fails the build on any invalid source), then hand the data directory to
# the unprivileged user, who writes the conversation store there at run time.
RUN assistant ingest --strict --quiet \
 && chown -R assistant:assistant /app/data
USER assistant
EXPOSE 8000
# /healthz only says the process answers; /readyz (index loaded, stores reachable) is for load balancers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('ASSISTANT_WEB__PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["assistant", "serve", "--host", "0.0.0.0"]
