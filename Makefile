# The two set-up commands of the README: `make demo` and `make test`. Both install first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export OMP_NUM_THREADS ?= 1
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install test demo lint clean

install:
	@bash utils/install.sh

# Two pytest-xdist workers, a test file's tests in one of them (tests/conftest.py orders the
# files: the longest first); PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= 2

test: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder tests

demo: install
	bash utils/demo.sh

lint: install
	$(PY) -m flake8 lrspeech tests bench
	$(PY) -m isort --check-only lrspeech tests bench

clean:
	rm -rf $(VENV) build *.egg-info
