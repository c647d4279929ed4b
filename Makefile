# nnref: `make site` derives, generates, verifies and builds the site; `make test` runs
# every check.  Both create their own virtual environment (.venv) on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: all site test lint typecheck generate verify docs serve clean mutation

all: test

$(STAMP): pyproject.toml
	@echo "==> [setup] virtual environment in $(VENV), installing nnref[dev,docs,jax] (torch==2.13.0, jax==0.10.2)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,docs,jax]'
	@touch $@

generate: $(STAMP)
	@echo "==> [derive] SymPy derivations -> nnref/_generated/"
	$(PY) -m derivations generate

verify: generate
	@echo "==> [verify] proofs, conventions and the cross-check against torch autograd"
	$(PYTEST) tests/test_symbolic.py tests/test_crosscheck.py
	@echo "==> [verify] dropout through torch's mask, whole networks and training runs against torch"
	$(PYTEST) tests/test_regularisation.py tests/test_nn.py
	@echo "==> [verify] the conformance suite against planted bugs from framework histories"
	$(PYTEST) tests/test_planted_bugs.py

docs: $(STAMP)
	@echo "==> [docs] pages, plots and results -> docs/"
	$(PY) -m pages
	@echo "==> [docs] mkdocs build --strict -> site/"
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

site: verify docs
	@echo
	@echo "Site built: $(CURDIR)/site/index.html"
	@echo "Serve it with:  $(VENV)/bin/mkdocs serve   (or: $(PY) -m http.server -d site 8000)"

lint: $(STAMP)
	@echo "==> [lint] ruff"
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	@echo "==> [typecheck] mypy nnref"
	$(VENV)/bin/mypy

# Test files that write build/ results the site reads (the cross-check's rows through
# tests/conftest.py, the training runs, dropout, the planted bugs): they run in one process,
# the rest on two workers.
SERIAL_TESTS := tests/test_crosscheck.py tests/test_nn.py tests/test_optim.py tests/test_regularisation.py \
                tests/test_planted_bugs.py
PARALLEL_IGNORES := --ignore=tests/test_site.py $(foreach t,$(SERIAL_TESTS),--ignore=$(t))

test: lint typecheck
	@echo "==> [test] generated code, proofs, conventions, cross-check, numerics, errors"
	$(PY) -m derivations check
	$(PYTEST) -n 2 tests $(PARALLEL_IGNORES)
	$(PYTEST) $(SERIAL_TESTS)
	@echo "==> [test] special values and conventions on every torch CPU kernel path of this machine"
	PY=$(PY) sh tools/kernel_paths.sh
	@$(MAKE) --no-print-directory docs
	@echo "==> [test] the built site in headless Chromium"
	$(PYTEST) tests/test_site.py

# Mutation testing of the runtime and the generated engine (README, "Mutation testing"): mutmut, pinned
# in the [mutation] extra, one worker; not part of `test` or `site`.  MUTANTS narrows the run
# to mutant names (globs), e.g. MUTANTS='nnref._special*'; results are kept in mutants/ and a
# second run checks only what has not been checked.
MUTANTS ?=
$(VENV)/.mutation: $(STAMP)
	$(PY) -m pip install --quiet -e '.[mutation]'
	@touch $@

mutation: $(VENV)/.mutation
	@echo "==> [mutation] mutmut run (about 3 s a mutant on 2 shared cores; see the README)"
	@start=$$(date +%s); OMP_NUM_THREADS=1 $(VENV)/bin/mutmut run --max-children 1 $(MUTANTS); \
	  $(PY) tools/mutation_summary.py $$(( $$(date +%s) - start ))

serve: $(STAMP)
	$(VENV)/bin/mkdocs serve

clean:
	rm -rf site build .pytest_cache .hypothesis
