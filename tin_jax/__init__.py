"""tin-jax: a JAX/Flax reimplementation of TIN (Transferable Interactiveness Network)."""

__version__ = "0.1.0"
