# Two set-up commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_OUT ?= oncoresist-demo

.PHONY: demo test test-anndata venv install install-test install-bench browser lint typecheck pytest bench bench-quick screenshots clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

venv: $(VENV)/bin/python

install: venv
	$(PIP) install --quiet -e .

# torch is pinned to the CPU build first: an unpinned torch would pull a multi-GB CUDA build;
# the nn extra's range (torch>=2.4) is then already satisfied.
install-test: venv
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[test,all]"

# Headless Chromium for the web app's browser tests (tests/test_web_browser.py), from the
# distribution's packages (Playwright's own browser download is not used). Root in CI; sudo else.
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; fi

demo: install
	$(VENV)/bin/oncoresist demo -o $(DEMO_OUT)

lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

typecheck: install-test
	$(VENV)/bin/mypy

pytest: install-test browser
	$(PY) -m pytest -n 2 --dist loadfile

test: install-test browser
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2 --dist loadfile
	$(MAKE) test-anndata

# The anndata extra in an environment of its own: anndata (<= 0.12) needs pandas < 3, the
# main environment has pandas 3 (the bench peers need it), so tests/test_anndata.py skips
# there and runs here.
ADVENV ?= .venv-anndata
test-anndata:
	test -x $(ADVENV)/bin/python || $(PYTHON) -m venv $(ADVENV)
	$(ADVENV)/bin/python -m pip install --quiet -e ".[anndata]" "pytest>=8"
	$(ADVENV)/bin/python -m pytest -p no:cacheprovider tests/test_anndata.py

# Benchmarks against peer tools (the bench extra: GPL peers, never package dependencies).
# `make bench` runs the full sizes (minutes each); `make bench-quick` the --quick sizes.
BENCHES := bench_curves bench_synergy bench_associations bench_predict bench_evolution bench_annotate bench_crispr bench_connectivity bench_strategy bench_web bench_scale bench_startup

install-bench: install-test
	$(PIP) install --quiet -e ".[bench]"

bench: install-bench
	for b in $(BENCHES); do $(PY) benchmarks/$$b.py || exit 1; done

bench-quick: install-bench
	for b in $(BENCHES); do echo "== $$b"; $(PY) benchmarks/$$b.py --quick || exit 1; done

# pictures of the demo report for the README (docs/img/demo-report-*.png), in headless chromium
screenshots: install-test browser
	test -f $(DEMO_OUT)/report.html || $(VENV)/bin/oncoresist demo -o $(DEMO_OUT)
	$(PY) tools/screenshot_report.py $(DEMO_OUT)/report.html

clean:
	rm -rf $(VENV) $(ADVENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
