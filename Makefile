# Two commands from a fresh clone: `make run` (the default study) and `make test`.
# torch is installed first and pinned: on these machines `pip install torch==2.13.0` takes a
# CPU build from local disk. Elsewhere pick a build with TORCH, e.g. make setup TORCH="torch==2.13.0 --index-url <a CUDA wheel index>".
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
export MTLSEARCH_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: setup run test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,onnx]'
	touch $@

run: setup
	$(BIN)/mtlsearch optimize --study ple

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) mtlsearch.db runs
