# The two commands of the README:
#   make demo   set up, build the synthetic dataset, convert it, (train, evaluate) and print the results
#   make test   run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
OUT    ?= out/demo
SEED   ?= 0

.PHONY: demo test venv data convert train clean bench device-wheels

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

data: venv
	$(PY) -m data_prep.make_synthetic --out_dir $(OUT)/raw --seed $(SEED)

convert: data
	$(PY) -m data_prep.convert --dataset hico --data_dir $(OUT)/raw --out_dir $(OUT)/hico --images_per_shard 32 --noprogress --overwrite
	$(PY) -m data_prep.convert --dataset vcoco --data_dir $(OUT)/raw --out_dir $(OUT)/vcoco --images_per_shard 32 --noprogress --overwrite

DEMO_FLAGS = --config configs/demo.py --workdir $(OUT)/train --config.data.dir=$(OUT)/hico \
             --config.eval.anno_dir=$(OUT)/raw/hico_20160224_det

train: convert
	$(PY) train.py $(DEMO_FLAGS)

demo: train
	$(PY) evaluate.py $(DEMO_FLAGS)

test: venv
	$(PY) -m pytest -q -n 2 --dist loadgroup --durations=15 tests

bench: venv
	$(PY) benchmarks/convert.py
	$(PY) benchmarks/pipeline.py
	$(PY) benchmarks/roi.py
	$(PY) benchmarks/eval.py
	$(PY) benchmarks/model.py
	$(PY) benchmarks/train.py
	$(PY) benchmarks/step_cost.py
	$(PY) benchmarks/inference.py
	$(PY) benchmarks/optimizer_memory.py

# Wheels the GPU machines lack (no network there): carry .device_wheels to run
# benchmarks/device_check.sh on one.
device-wheels: venv
	$(PY) -m pip download --quiet --no-deps --dest .device_wheels ml_collections

clean:
	rm -rf out
