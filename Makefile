# Everything a fresh machine needs: `make demo` and `make test` create the environment themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BASE   := $(VENV)/.installed-base
FULL   := $(VENV)/.installed-test
# Debian packages for rendering real sampled sound (the tests that need them skip without them),
# listed once beside the module that uses them
AUDIO_APT := $(shell cat vr_brian/datasets/apt-packages.txt)

# brian2genn needs brian2 2.5 (the core pins 2.9): GeNN code generation gets its own environment
GENN_VENV := .venv-genn
GENN_PY   := $(GENN_VENV)/bin/python
GENN      := $(GENN_VENV)/.installed

.PHONY: demo lint test test-fast figures bench bench-train bench-genn genn-env test-genn audio-deps clean

$(BASE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[fast]"
	touch $(BASE)

$(FULL): $(BASE)
	$(PY) -m pip install -q -e ".[test,audio,autodiff,fast,lint]"
	touch $(FULL)

demo: $(BASE)
	MPLBACKEND=Agg $(PY) -m vr_brian_app.demo

# ruff's rules and format (pyproject.toml), and mypy on the library and the trainer
lint: $(FULL)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# the tests and the doctests of vr_brian and gradients (pyproject.toml: testpaths)
test: $(FULL)
	MPLBACKEND=Agg $(PY) -m pytest -q
	# the gradient tests once more on the numpy/scipy path (no compiled loops)
	VR_BRIAN_NO_NUMBA=1 MPLBACKEND=Agg $(PY) -m pytest -q -p no:cacheprovider tests/test_gradients_forward.py \
		tests/test_gradients_bptt.py tests/test_gradients_tempotron.py tests/test_gradients_paper.py

# without the compiling tests and the minute-scale ones
test-fast: $(FULL)
	MPLBACKEND=Agg $(PY) -m pytest -q -m "not slow and not long"

# every study's figures, headless (the benchmarks are run by their own targets)
figures: $(FULL)
	MPLBACKEND=Agg $(VENV)/bin/vr-brian study --all --exclude benchmark_simulate,benchmark_train_step,genn_scaling

bench: $(BASE)
	MPLBACKEND=Agg $(PY) -m studies.benchmark_simulate.run

bench-train: $(FULL)
	MPLBACKEND=Agg $(PY) -m studies.benchmark_train_step.run

$(GENN): requirements-genn.txt pyproject.toml
	$(PYTHON) -m venv $(GENN_VENV)
	$(GENN_PY) -m pip install -q -r requirements-genn.txt
	$(GENN_PY) -m pip install -q --no-deps -e .
	touch $(GENN)

genn-env: $(GENN)

# code generation for GeNN, and the parts of the core that must import under brian2 2.5
test-genn: $(GENN)
	MPLBACKEND=Agg $(GENN_PY) -m pytest -q -p no:cacheprovider tests/test_genn.py tests/test_reference.py \
		tests/test_params.py tests/test_equations.py tests/test_examples.py::test_genn_code_example_generates_the_project

bench-genn: $(BASE)
	$(PY) -m studies.genn_scaling.run --backend cpp_standalone --timeout 1200s

audio-deps:
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $(AUDIO_APT)

clean:
	rm -rf $(VENV) $(GENN_VENV) build *.egg-info .pytest_cache
