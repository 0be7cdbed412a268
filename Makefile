# The two commands of the README:
#   make demo   set up, build the synthetic dataset, convert it, (train, evaluate) and print the results
#   make test   run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
OUT    ?= out/demo
SEED   ?= 0

.PHONY: demo test venv data convert clean bench

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

data: venv
	$(PY) -m data_prep.make_synthetic --out $(OUT)/raw --seed $(SEED)

convert: data
	$(PY) -m data_prep.convert --dataset hico --data_dir $(OUT)/raw --out_dir $(OUT)/hico --images_per_shard 32 --no_progress
	$(PY) -m data_prep.convert --dataset vcoco --data_dir $(OUT)/raw --out_dir $(OUT)/vcoco --images_per_shard 32 --no_progress

demo: convert

test: venv
	$(PY) -m pytest -q -n 2 tests

bench: venv
	$(PY) benchmarks/convert.py
	$(PY) benchmarks/pipeline.py

clean:
	rm -rf out
