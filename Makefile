# musegenie: `make demo` sets up and edits a bundled example; `make test` sets up and runs lint + tests.
# Every install passes -c $(CONSTRAINTS), the lock of every version CI tested (and the CPU torch wheel).
# GPU box: make CONSTRAINTS=gpu.txt EXTRAS=train,gpu. `make lock` refreshes the lock; `make test-latest` tries
# the newest releases without it.
PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= constraints.txt
EXTRAS ?= train,audio,dev,cluster
BIN := $(VENV)/bin
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: setup test test-latest lock lint format demo serve default-model real-music protos bench clean

# basic-pitch (note events for `actions describe`) runs its ONNX model with onnxruntime: --no-deps skips the
# TensorFlow it declares on Python >= 3.11 (its other imports come with the train extra).
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c $(CONSTRAINTS) -e ".[$(EXTRAS)]"
	$(if $(findstring train,$(EXTRAS)),$(BIN)/pip install -q --disable-pip-version-check --no-deps -c $(CONSTRAINTS) basic-pitch)
	touch $@

setup: $(STAMP)  ## create .venv and install the project with $(EXTRAS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint  ## lint, then the whole test suite (CPU, tiny models, real servers on loopback)
	$(BIN)/python -m pytest -q

LATEST := .venv-latest
test-latest:  ## install the newest releases pyproject.toml allows (no lock, not in CI) and run the tests
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install -q --disable-pip-version-check torch==2.13.0
	$(LATEST)/bin/pip install -q --disable-pip-version-check -e ".[$(EXTRAS)]"
	$(LATEST)/bin/python -m pytest -q

lock:  ## re-resolve every dependency into constraints.txt (then: make protos test, commit both)
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install -q --disable-pip-version-check torch==2.13.0
	$(LATEST)/bin/pip install -q --disable-pip-version-check -e ".[$(EXTRAS)]"
	{ grep '^#' constraints.txt; $(LATEST)/bin/pip freeze --exclude-editable | grep -v '^torch==' | sort -f; \
	  echo torch==2.13.0; } > constraints.txt.new && mv constraints.txt.new constraints.txt

demo: setup  ## serve the bundled model, edit the bundled example through OSC, write before/after
	$(BIN)/python -m osc_bridge.demo

serve: setup  ## keep the engine (gRPC 127.0.0.1:50051) and the OSC bridge (127.0.0.1:9000) running
	$(BIN)/musegenie osc-bridge --serve-bundle models/default

default-model: setup  ## retrain the shipped model from scratch on the synthetic corpus (hours on 2 CPU cores)
	bash scripts/default_model.sh

real-music: setup  ## install the free-licensed real-music packages (root/sudo) and write their manifests to data/real_music
	bash scripts/real_music.sh

protos: setup  ## regenerate the gRPC stubs from protos/musegenie/v1/engine.proto
	$(BIN)/python protos/generate.py

bench: setup  ## print every benchmark table
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(LATEST) .pytest_cache .ruff_cache
