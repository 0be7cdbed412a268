"""Inference: batched forward passes over candidate pairs (``runner``), TIN's post-processing
(``postprocess``), and the commands built on them: ``evaluator`` (evaluate.py), ``predict``
(predict.py) and ``nis`` (python -m tin_jax.nis). Never imports ``tin_jax.training``."""
