# Two set-up commands: `make demo` and `make test`. Both create .venv at the repo root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# e.g. make test TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu" (empty: pip's own)
TORCH_INDEX ?=

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build. Where pip
	# has no CPU wheel at hand (stock PyPI has CUDA builds), set TORCH_INDEX to PyTorch's CPU index.
	$(BIN)/python -m pip install -q torch==2.13.0 $(TORCH_INDEX)
	$(BIN)/python -m pip install -q -e '.[dev,server,onnx,ray]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/handful train examples/shapes --out models/demo --force
	$(BIN)/handful predict models/demo examples/shapes/val/circle/circle_00.jpg examples/shapes/val/triangle/triangle_00.jpg --top 2
	@echo "Model saved in models/demo. Try: $(BIN)/handful evaluate models/demo examples/shapes/val"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/embed_speed.py
	$(BIN)/python benchmarks/kshot_images.py

clean:
	rm -rf $(VENV) models
