"""What the command lines share: one ``error:`` line for bad input, and its exit."""

from __future__ import annotations

import os
import sys


def fail(error: BaseException | str, code: int) -> None:
    """Prints ``error: <message on one line>`` and exits with ``code``.

    Exits without the interpreter's teardown: after a failed checkpoint read, orbax's and
    TensorStore's background tasks would otherwise print tracebacks of their own at exit,
    burying the one line that says what is wrong.
    """
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pylint: disable=protected-access


# What each required config field holds (its error says so).
REQUIRED_FIELD_HINTS = {
    "data.dir": "a converted dataset (python -m data_prep.convert writes one)",
    "eval.anno_dir": "the HICO-DET folder holding anno_bbox.mat and anno.mat",
    "eval.vcoco_root": "the v-coco checkout (with data/vcoco/ and data/instances_vcoco_all_2014.json)",
}


def _field(config, dotted: str):
    value = config
    for key in dotted.split("."):
        value = value.get(key) if hasattr(value, "get") else None
    return value


def require(config, fields) -> None:
    """Raises ValueError naming the first empty field of ``fields`` (dotted config paths):
    the full configs name no data, so a forgotten override stops here, not hours later."""
    for name in fields:
        if not _field(config, name):
            hint = REQUIRED_FIELD_HINTS.get(name, "")
            raise ValueError(f"config.{name} is not set: give --config.{name}=<{hint or 'value'}>")


def evaluation_fields(config) -> tuple[str, ...]:
    """The fields an evaluation of ``config``'s dataset reads."""
    return ("data.dir", "eval.vcoco_root" if config.get("dataset") == "vcoco" else "eval.anno_dir")


def check_dataset_kind(config, metadata: dict, data_dir: str) -> None:
    """Raises ValueError when the converted dataset is of another kind than the config is for
    (e.g. V-COCO data with a HICO-DET config: other thresholds, schedule and protocol)."""
    wanted, got = config.get("dataset", metadata["dataset"]), metadata["dataset"]
    if wanted != got:
        raise ValueError(f"{data_dir}: a {got} dataset, but the config is for {wanted} (config.dataset): "
                         f"use a {got} config (e.g. configs/tin_{got}.py) or the {wanted} data")


def parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, for ``app.run(main, flags_parser=parse_flags)``: a ``--config.*``
    override naming a field the config lacks is one ``error:`` line naming the override
    (ml_collections raises a bare AttributeError / KeyError for it)."""
    from absl import flags  # pylint: disable=g-import-not-at-top
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:  # absl's own message names the flag and what is wrong
        fail(e, 2)
        raise  # unreachable: fail exits
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        text = " ".join(str(e).split()).strip("'\"")
        overrides = [a.split("=", 1)[0] for a in argv[1:] if a.startswith("--config.")]
        named = [o for o in overrides if o.rsplit(".", 1)[-1] in text] or overrides
        where = named[0] if named else "--config"
        fail(f"{where}: the config has no such field or cannot take this value ({text})", 2)
        raise  # unreachable: fail exits
