# backprop-lens: the web app in a container, installed from its wheel like any user's install.
#   docker build -t backprop-lens .
#   docker run --rm -p 8000:8000 backprop-lens      # then open http://localhost:8000

# Stage 1: build the wheel from the checkout (the page's static files and templates are package data inside it).
FROM python:3.11-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
COPY static ./static
COPY templates ./templates
RUN pip wheel --no-deps --wheel-dir /dist .

# Stage 2: the wheel and its pinned dependencies only; no source tree, no build tools.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Graphviz lays the graphs out; DejaVu is the font the SVGs name first (PNG: resvg, inside its wheel, uses it).
RUN apt-get update \
    && apt-get install -y --no-install-recommends graphviz fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Every dependency pinned by constraints.txt (torch==2.13.0 and torch's own dependencies). The CPU index offers
# torch==2.13.0+cpu, which pip prefers to PyPI's multi-GB CUDA build of the same release.
COPY constraints.txt /tmp/constraints.txt
COPY --from=wheel /dist /tmp/dist
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -c /tmp/constraints.txt "torch==2.13.0" \
    && pip install -c /tmp/constraints.txt /tmp/dist/*.whl \
    && rm -rf /tmp/dist /tmp/constraints.txt \
    && groupadd --gid 10001 lens \
    && useradd --create-home --uid 10001 --gid 10001 lens

WORKDIR /home/lens
USER 10001:10001
EXPOSE 8000
# Ready = dot and the PNG renderer work and the server has room (/readyz); /healthz only says it is alive.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
# Inside the container the server must listen on all interfaces for -p to reach it.
CMD ["backprop-lens", "serve", "--host", "0.0.0.0", "--port", "8000"]
