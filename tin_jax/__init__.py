"""tin-jax: a JAX/Flax reimplementation of TIN (Transferable Interactiveness Network)."""

import os as _os

# TensorFlow is only the data loader here: keep its C++ start-up chatter (and the
# oneDNN notice, irrelevant to tf.data) off the console unless the user asks.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
