# Two commands a newcomer needs: `make run` (the app) and `make test` (the whole suite). Both set up
# everything on a fresh machine: a virtual environment, the pinned CPU torch, the project, and the system tools.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench system-graphviz system-test-tools clean

# Running needs only the runtime dependencies (constraints.txt); the test tools come with `make test`. The system
# tools are checked first (order-only), so a machine without `dot` learns it in a second, not after the install.
$(STAMP): pyproject.toml constraints.txt | system-graphviz
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP) constraints-dev.txt | system-test-tools
	$(PY) -m pip install -q -c constraints.txt -c constraints-dev.txt -e ".[test]"
	touch $(TEST_STAMP)

# Graphviz's `dot` renders every graph. Install it with apt when we can; otherwise say how.
system-graphviz:
	@command -v dot >/dev/null || scripts/apt-install.sh dot graphviz "brew install graphviz"

# Browser tests drive Debian's Chromium; the SVGs name DejaVu first (our text metrics are DejaVu's) and the PNG
# renderer (resvg, inside its wheel) uses the system's fonts; the zh page needs a Chinese font in screenshots.
system-test-tools: system-graphviz
	@command -v chromium >/dev/null || scripts/apt-install.sh chromium chromium "install Chromium and set CHROMIUM_PATH"
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || scripts/apt-install.sh nginx nginx "install nginx (tests/test_nginx.py puts it in front of two servers)"
	@fc-list 2>/dev/null | grep -qi dejavu || scripts/apt-install.sh fc-list fonts-dejavu-core "install the DejaVu fonts"
	@fc-list :lang=zh 2>/dev/null | grep -q . || scripts/apt-install.sh "a Chinese font" fonts-wqy-microhei "install a CJK font (e.g. Noto Sans CJK)"

run: $(STAMP) system-graphviz
	$(VENV)/bin/backprop-lens serve --host $(HOST) --port $(PORT)

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench
	$(VENV)/bin/mypy

test: system-test-tools $(TEST_STAMP) lint
	BACKPROP_LENS_NO_SKIPS=1 $(VENV)/bin/pytest

bench: $(TEST_STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
