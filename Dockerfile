# backprop-lens: the web app in a container.
#   docker build -t backprop-lens .
#   docker run --rm -p 8000:8000 backprop-lens      # then open http://localhost:8000
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Graphviz lays the graphs out, librsvg turns SVG into PNG, DejaVu is the font the SVGs name first.
RUN apt-get update \
    && apt-get install -y --no-install-recommends graphviz librsvg2-bin fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/backprop-lens

# The CPU build of torch, pinned as in constraints.txt: PyPI's default wheel is a multi-GB CUDA build.
COPY constraints.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

COPY pyproject.toml README.md ./
COPY app ./app
COPY static ./static
COPY templates ./templates
RUN pip install -c constraints.txt -e . \
    && groupadd --gid 10001 lens \
    && useradd --create-home --uid 10001 --gid 10001 lens

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# Inside the container the server must listen on all interfaces for -p to reach it.
CMD ["backprop-lens", "serve", "--host", "0.0.0.0", "--port", "8000"]
