# femheat: the two commands of the README, each creating its own virtual environment.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.femheat-installed

.PHONY: demo test test-all bench bench-check bench-record meshes clean

demo: $(STAMP)  ## run the flagship case end to end (mesh -> solve -> VTU/PVD + PNG + summary)
	$(BIN)/femheat run cases/composite_kapitza.toml -o results/composite_kapitza --overwrite

# pytest-xdist workers: one per core, at most 4 (a 3D test peaks near 3 GB); each takes one
# BLAS thread (tests/conftest.py). `make test TEST_WORKERS=0` runs in this process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
# a module's tests (and its module-scoped fixtures) stay on one worker
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope

test: $(STAMP)  ## the test suite CI runs (slow studies deselected), on TEST_WORKERS processes
	$(PYTEST)

test-all: $(STAMP)  ## including the slow convergence studies
	$(PYTEST) -m ""

# quick sizes by default (~10 min on 2 shared cores); `make bench BENCH_MODE=` runs the full sizes
BENCH_MODE ?= --quick

bench: $(STAMP)  ## the benchmarks with a baseline (run_all.py's list) -> benchmarks/results-latest.json (ratios, figures, calibration)
	$(BIN)/python benchmarks/run_all.py $(BENCH_MODE) $(BENCH_ARGS)

bench-check: $(STAMP)  ## latest ratios vs the recorded benchmarks/results.json (> 30 % drift fails); README tables vs that JSON
	$(BIN)/python benchmarks/run_all.py --check
	$(BIN)/python benchmarks/report.py --check

# runs to record; several runs of one tree (run_all.py --out FILE each) give median ratios
RUNS ?= benchmarks/results-latest.json

bench-record: $(STAMP)  ## write benchmarks/results.json from $(RUNS) (median ratios) and regenerate the README tables
	$(BIN)/python benchmarks/run_all.py --record $(RUNS)
	$(BIN)/python benchmarks/report.py

meshes: $(STAMP)  ## rebuild the shipped meshes with gmsh
	$(BIN)/python meshes/build_meshes.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@# CHOLMOD where SuiteSparse's headers are installed (Debian: libsuitesparse-dev); SuperLU otherwise
	if [ -f /usr/include/suitesparse/cholmod.h ]; then \
		$(BIN)/python -m pip install --quiet -e ".[cholmod]" || \
		echo "scikit-sparse did not build: femheat uses SuperLU"; fi
	touch $(STAMP)

clean:
	rm -rf $(VENV) results .pytest_cache
