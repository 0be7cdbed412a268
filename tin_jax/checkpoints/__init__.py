"""Load foreign weights (TF checkpoints, PyTorch state dicts) into NNX models, strictly.

The generic core is :func:`assign.assign_from_mapping`: it fills an ``nnx.State`` (or a module) from
``{param path: array}``, checks every shape, and reports *all* problems in one
:class:`CheckpointMismatchError` instead of stopping at the first, so a wrong name table is
fixed in one round. The format-specific loaders (``tf_import.load_slim_resnet``,
``torch_import.load_torch_resnet``) build that mapping from checkpoint names and pass along the
checkpoint variables they could not place, which end up in the same error.

TensorFlow and torch are imported only inside the loaders that need them.
"""

from tin_jax.checkpoints.assign import (CheckpointMismatchError, LoadReport, assign_from_mapping,
                                        assign_modules, path_str)
from tin_jax.checkpoints.tf_import import load_slim_resnet, slim_variable_names
from tin_jax.checkpoints.torch_import import load_torch_resnet, torch_key_table

__all__ = [
    "CheckpointMismatchError", "LoadReport", "assign_from_mapping", "assign_modules",
    "load_slim_resnet", "slim_variable_names", "load_torch_resnet", "torch_key_table",
    "path_str",
]
