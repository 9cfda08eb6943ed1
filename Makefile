# Two-command set-up: `make demo` and `make test` each create .venv when missing, install what they
# need, fetch the model assets, and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TALKIES := $(VENV)/bin/talkies
STAMP := $(VENV)/.talkies-installed
export TALKIES_PROGRESS ?= 1

.PHONY: all install models test test-nojit demo bench clean

all: test

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# Pin torch first: an unpinned torch pulls gigabytes of CUDA; 2.13.0 resolves to the CPU build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[export,dev]'
	touch $(STAMP)

install: $(STAMP)

models: $(STAMP)
	$(TALKIES) models fetch

# The kernel tests in pure Python (NUMBA_DISABLE_JIT=1) on their small cases, then the whole suite.
test: models
	$(MAKE) --no-print-directory test-nojit
	$(PY) -m pytest -q -p no:cacheprovider

test-nojit: $(STAMP)
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_kernels_*.py

demo: models
	$(PY) -m talkies.demo

bench: models
	$(PY) -m pytest -q benchmarks --benchmark-only

clean:
	rm -rf out demo.mp4 .pytest_cache
