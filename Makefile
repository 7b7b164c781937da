# Set-up and checks for vxsum. Needs only python3 (3.11+) and make; the virtual
# environment in .venv holds everything else, installed from pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Benchmarks run as plain tests in `make test` on small inputs; `make bench` measures.
BENCH_PACKETS ?= 1000000

.PHONY: demo test lint typecheck pytest bench docs fuzz clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "vxsum needs Python 3.11 or newer ($(PYTHON) is older)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "python3 -m venv failed: installing Debian's python3-venv"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	    $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)"; exit 1; fi; }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[docs]'
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/vxsum demo

test: lint typecheck pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check vxsum tests benchmarks
	$(BIN)/ruff format --check vxsum tests benchmarks

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy --strict vxsum

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest --doctest-modules --doctest-glob="*.md" vxsum README.md docs -q
	VXSUM_BENCH_PACKETS=20000 $(BIN)/python -m pytest tests benchmarks --benchmark-disable -q

bench: $(VENV)/.installed-test
	VXSUM_BENCH_PACKETS=$(BENCH_PACKETS) $(BIN)/python -m pytest benchmarks \
	  --benchmark-only --benchmark-columns=min,median,mean,rounds --benchmark-sort=name \
	  --benchmark-json=benchmarks/last-run.json -q
	$(BIN)/python benchmarks/report.py benchmarks/last-run.json
	cd benchmarks && ../$(BIN)/python plot.py last-run.json analyze ../docs/analyze-benchmark.svg

# A longer fuzz run of the frame parser (hypothesis, many examples): see fuzz/fuzz_parse.py.
fuzz: $(VENV)/.installed-test
	$(BIN)/python fuzz/fuzz_parse.py

docs: $(VENV)/.installed-docs
	$(BIN)/sphinx-build -q -W -b html docs docs/_build/html
	@echo "docs/_build/html/index.html"

clean:
	rm -rf $(VENV) docs/_build .pytest_cache .mypy_cache .ruff_cache .benchmarks
