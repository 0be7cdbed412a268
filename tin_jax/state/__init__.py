"""The model's state, owned in one place: the network and the mesh (``model``), what a
checkpoint holds (``spec``: the model's configuration and classes), and checkpoints on disk
(``store``). Training and inference both build and restore through it."""
