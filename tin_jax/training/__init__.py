"""Training: the optimizer (``optim``), the jitted step (``train_step``), the loop (``trainer``)."""
