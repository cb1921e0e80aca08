# edalize-dse: `make demo` sets everything up and runs a short real exploration;
# `make test` runs the test suite against a fresh non-editable install; `make check`
# is the fast tier (lint and the tests that start no tool) for every change.

PYTHON      ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
DEBIAN_TOOLS := opensta verilator iverilog chromium slurm-wlm
# The demo: a small space with a timing constraint (cores/spaces/gemmini_demo.yml), 6 Sobol
# points then diffusion rounds of 2 (round_size 2: one point per worker, reproducible) to the
# budget; its own output folder (an output folder is bound to its space).
DEMO_BUDGET ?= 14
DEMO_INIT   ?= 6
DEMO_SEED   ?= 1
DEMO_SPACE  ?= cores/spaces/gemmini_demo.yml
DEMO_OUT    ?= build/demo

# Platform: ASAP7_PLATFORM_DIR, else $FLOW_HOME/platforms/asap7, else the
# shared checkout beside this one (the layout of our CI and dev machines).
ifeq ($(strip $(ASAP7_PLATFORM_DIR)$(FLOW_HOME)),)
  ifneq ($(wildcard ../shared/pdk/asap7/lib),)
    export ASAP7_PLATFORM_DIR := $(abspath ../shared/pdk/asap7)
  endif
endif

.PHONY: demo test check lint setup tools venv install clean table study table2 suite

EXTRAS     := test,lint,bench,bo,report,ray,dask
LINT_PATHS := plugin tests benchmarks

# The tabulated ASAP7 benchmark (benchmarks/TABLE.md): builds, or resumes, the table of
# every point of cores/spaces/gemmini_table.yml through the synth flow (about 3 h on 2 cores).
TABLE_WORKERS ?= 2
TABLE := benchmarks/tables/gemmini_table.csv.gz
STUDY_STRATEGIES ?= diffusion qnehvi nsga2 motpe sobol random dosa
STUDY_SEEDS ?= 10

demo: setup
	$(VENV)/bin/fusesoc --cores-root cores run --target=dse edalize-dse:accel:gemmini \
	    --budget $(DEMO_BUDGET) --seed $(DEMO_SEED) --space $(DEMO_SPACE) --output $(DEMO_OUT) \
	    --strategy diffusion --strategy_options init_points=$(DEMO_INIT) --workers 2 --round_size 2
	@echo "Diffusion rounds (from $(DEMO_OUT)/controller.log):"
	@grep "diffusion round" $(DEMO_OUT)/controller.log | sed 's/^/  /'
	@echo "Outputs: $(DEMO_OUT)/ (dse.sqlite, evaluations.csv, pareto.csv, summary.json, summary.md; report.html above)"

test: setup lint
	$(PY) -m pytest -ra $(PYTEST_ARGS)

# The fast tier: lint, then every test that starts no tool, cluster, FuseSoC or browser
# (pytest -m "not slow"; conftest.py marks the rest), on an editable install and without
# the Debian packages. About 2 minutes on 2 cores.
check: $(PY)
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

# ruff: lint (pycodestyle, pyflakes, import order) and formatting, one line length
# (pyproject.toml). `$(PY) -m ruff format $(LINT_PATHS)` applies the formatting.
lint: $(PY)
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

setup: tools install

# Debian tools the flows and tests run: OpenSTA, Verilator, Icarus Verilog, Chromium
# (headless, for the report.html browser test) and Slurm (the live test of executor dask
# on a one-node Slurm cluster).
tools:
	@missing=""; \
	command -v sta >/dev/null || missing="$$missing opensta"; \
	command -v verilator >/dev/null || missing="$$missing verilator"; \
	command -v iverilog >/dev/null || missing="$$missing iverilog"; \
	command -v slurmctld >/dev/null || missing="$$missing slurm-wlm"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Always reinstall the project (non-editable): tests see what a user installs.
install: $(PY)
	@# The executors' engines (Ray, Dask) are extras; the tests run real clusters of both.
	@# bench: pymoo's test problems for the strategy benchmarks and the suite (tests run its quick mode).
	$(PY) -m pip install -q ".[$(EXTRAS)]"

table: setup
	nice $(PY) -m benchmarks.build_table --workers $(TABLE_WORKERS)

# The strategy study on the table (BENCHMARKS.md); finished runs are kept in
# benchmarks/state/strategy_runs/table, so a killed study resumes.
study: setup
	nice $(PY) -m benchmarks.strategy_bench --tag table \
	    --problems table:cores/spaces/gemmini_table.yml,$(TABLE) \
	    --strategies $(STUDY_STRATEGIES) --seeds $(STUDY_SEEDS) --budgets 25 50 100 200 --batch 8 $(STUDY_ARGS)

# Table 2 (benchmarks/TABLE.md): a fixed sample of TABLE2_POINTS points of the wide space
# cores/spaces/gemmini_table2.yml; builds or resumes (kill it and run it again), hours on 2 cores.
TABLE2_POINTS ?= 2000
TABLE2_SEED ?= 0
table2: setup
	nice $(PY) -m benchmarks.build_table --space cores/spaces/gemmini_table2.yml --sample $(TABLE2_POINTS) \
	    --sample-seed $(TABLE2_SEED) --work benchmarks/state/table2 --table benchmarks/tables/gemmini_table2.csv.gz \
	    --workers $(TABLE_WORKERS)

# The benchmark suite (benchmarks/suite.py): synthetic problems, both tables (table 2 once
# built), the transfer study; finished runs are kept in benchmarks/state/strategy_runs, so it resumes.
suite: setup
	nice $(PY) -m benchmarks.suite $(SUITE_ARGS)

clean:
	rm -rf build dist *.egg-info .pytest_cache
