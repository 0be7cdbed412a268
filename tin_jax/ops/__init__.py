"""Pure-jnp model ops (no parameters)."""

from tin_jax.ops.roi import METHODS, crop_and_resize, roi_align, tin_roi_pool

__all__ = ["METHODS", "crop_and_resize", "roi_align", "tin_roi_pool"]
