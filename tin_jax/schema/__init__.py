"""What every layer agrees on: class lists, the record schema, body constants.

A leaf: imports nothing else of tin_jax, so the models, the input pipeline, the
converter and the evaluators can all depend on it without depending on each other.
"""
