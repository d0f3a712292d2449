# Everything a fresh machine needs: `make demo` and `make test` create the environment themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(PY) -m vr_brian.demo

test: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -q

test-fast: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	MPLBACKEND=Agg $(PY) -m studies.benchmark_simulate.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
