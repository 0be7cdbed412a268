"""Benchmark evaluators (HICO-DET: :mod:`tin_jax.evaluation.hico_det`)."""
