# Development tasks.  Everything runs in a virtualenv in .venv, created when missing.
#
#   make demo    install asktell and run the shell pipeline example (pipelines/shell/) on a fresh study
#   make test    install asktell with its test extras and run the whole test suite, slow tests included
#   make bench   install asktell with its bench and test extras and run bench/cli_latency.py
#   make bench-samplers   the same install; bench/samplers.py (suggestion quality against Optuna, long)
#   make bench-scale      the same install; bench/scale.py (ask, report, tell at 1k to 100k trials, against Optuna)
#   make clean   remove the demo study and build and test leftovers (make distclean: the venvs too,
#                .venv and the ones the Airflow and PyTorch pipeline tests build)
#
# Each install leaves a stamp file in .venv, so pip runs again only when pyproject.toml
# changes (or .venv is removed).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
PIP_INSTALL := $(VENV_PY) -m pip install --quiet
DEMO_STUDY := demo-study
# Extra pytest arguments, e.g. make test PYTEST_ARGS='-x -k pipeline'
PYTEST_ARGS ?=

.PHONY: help demo test bench bench-samplers bench-scale clean distclean

help:
	@echo "make demo | test | bench | bench-samplers | bench-scale | clean | distclean (see the top of the Makefile)"

$(VENV_PY):
	$(PYTHON) -m venv $(VENV)

# One stamp per set of extras: .venv/.installed, .venv/.installed-test, .venv/.installed-bench-test.
$(VENV)/.installed: pyproject.toml | $(VENV_PY)
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV_PY)
	$(PIP_INSTALL) -e '.[test]'
	touch $@

$(VENV)/.installed-bench-test: pyproject.toml | $(VENV_PY)
	$(PIP_INSTALL) -e '.[bench,test]'
	touch $@

demo: $(VENV)/.installed
	rm -rf $(DEMO_STUDY)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ASKTELL="$(CURDIR)/$(VENV)/bin/asktell" \
		STUDY=$(DEMO_STUDY) pipelines/shell/run.sh

test: $(VENV)/.installed-test
	$(VENV_PY) -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.installed-bench-test
	$(VENV_PY) bench/cli_latency.py

bench-samplers: $(VENV)/.installed-bench-test
	$(VENV_PY) bench/samplers.py

bench-scale: $(VENV)/.installed-bench-test
	$(VENV_PY) bench/scale.py

clean:
	rm -rf $(DEMO_STUDY) build dist *.egg-info .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .venv-airflow .venv-torch
