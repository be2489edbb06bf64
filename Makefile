# Two commands on a fresh machine:
#   make run   - create .venv if missing, install, run the embedded quickstart comparison
#   make test  - create .venv if missing, install, run the test suite
# torch is pinned to a CPU wheel (TORCH_SPEC); where PyPI would only offer a CUDA build, point
# TORCH_INDEX at https://download.pytorch.org/whl/cpu.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.chainsleuth-installed
# Two workers, one test file each (module fixtures such as a loaded dataset stay in one worker).
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run test install clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[test,launchers,tuning,graph,neural,relay,wandb]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/chainsleuth run

test: $(STAMP)
	command -v tshark >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null)
	CHAINSLEUTH_DATA_DIR=$${CHAINSLEUTH_DATA_DIR:-$(abspath ../shared/data)} $(BIN)/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info outputs
