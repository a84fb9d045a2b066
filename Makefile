# sgtheory: `make test` runs the test suite, `make all` rebuilds every figure (PROFILE=quick|paper).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SG := $(BIN)/sgtheory
PROFILE ?= quick
RESULTS := results/$(PROFILE)
FIGDIR := $(if $(filter quick,$(PROFILE)),figures,figures/$(PROFILE))

.PHONY: setup test lint all train-baseline bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

lint: setup
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest

all: train-baseline
	$(SG) report $(FIGDIR)

# Each figure: run the experiment (resumes finished runs), then draw it.
train-baseline: setup
	$(SG) train --config configs/train_baseline.yaml --profile $(PROFILE) --out $(RESULTS)/train_baseline.parquet
	$(SG) plot training-curves $(RESULTS)/train_baseline.parquet --out $(FIGDIR)/train_baseline.png

bench: setup
	$(BIN)/python benchmarks/bench_train.py --epochs 20 --out benchmarks/out/bench_train.json

clean:
	rm -rf results figures/*.pdf figures/paper benchmarks/out
