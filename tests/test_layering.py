"""The architecture, checked by walking the imports of every module (function-local ones too).

``ALLOWED`` is the one place the layers are written down: which ``tin_jax`` packages each
package may import. The README's layout section draws the same arrows.
"""

from __future__ import annotations

import ast
import os
import pathlib

import pytest

from tests.conftest import ROOT

# package -> the tin_jax packages it may import (itself always allowed)
ALLOWED = {
    "schema": set(),  # class lists, record schema, body and image constants: a leaf
    "io": {"schema"},  # raw file formats (.mat, json, pickles, TFRecord framing)
    "ops": set(),  # RoI ops
    "models": {"ops", "schema"},
    "evaluation": {"schema", "io"},  # the official protocols: numpy only
    "data": {"schema", "io"},  # the tf.data pipeline
    "state": {"models", "schema"},  # mesh, model build, checkpoints and their model spec
    "checkpoints": {"models", "state", "schema"},  # foreign weights (TF, torch, released TIN)
    "inference": {"state", "checkpoints", "models", "data", "evaluation", "io", "schema", "ops", "cli"},
    "training": {"state", "checkpoints", "models", "data", "inference", "evaluation", "schema", "cli"},
    "cli": set(),
    "multihost": set(),
    "nis": {"inference"},  # the `python -m tin_jax.nis` command
}
# third-party modules a package must never import (heavy, or wrong for its layer)
FORBIDDEN_EXTERNAL = {
    "schema": {"jax", "flax", "tensorflow", "optax", "orbax", "cv2", "scipy"},
    "io": {"jax", "flax", "tensorflow", "optax", "orbax"},
    "evaluation": {"jax", "flax", "tensorflow", "optax", "orbax"},
    "models": {"tensorflow"},
    "state": {"tensorflow"},
}
# folders of the repository that `pip install` does not install: the package never imports them
NOT_INSTALLED = {"configs", "benchmarks", "tests", "data_prep"}
MAX_MODULE_LINES = 460  # "a few hundred lines" per module
MAX_FUNCTION_LINES = 80
CODE_DIRS = ("tin_jax", "data_prep")
SCRIPTS = ("train.py", "evaluate.py", "predict.py")


def _python_files(*dirs: str) -> list[pathlib.Path]:
    root = pathlib.Path(ROOT)
    return sorted(p for d in dirs for p in (root / d).rglob("*.py"))


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """(imported module, names imported from it) for every import statement, resolving
    relative ones."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.append((base, [a.name for a in node.names]))
    return out


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "tin_jax" and len(parts) > 1 else None


def _all_modules():
    for path in _python_files("tin_jax"):
        module = _module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        yield path, module, tree


def test_packages_import_only_what_the_layers_allow():
    bad = []
    for path, module, tree in _all_modules():
        here = _package(module)
        if here is None:  # tin_jax/__init__.py
            continue
        assert here in ALLOWED, f"{path}: package {here!r} is not in ALLOWED; add it with its arrows"
        for target, names in _imports(tree, module, path.name == "__init__.py"):
            targets = [target] + ([f"{target}.{n}" for n in names] if target == "tin_jax" else [])
            for t in targets:
                there = _package(t)
                if there is not None and there != here and there not in ALLOWED[here]:
                    bad.append(f"{path.relative_to(ROOT)}: {here} -> {there} ({t})")
            top = target.split(".")[0]
            if top in NOT_INSTALLED:
                bad.append(f"{path.relative_to(ROOT)}: imports {top}, which is not part of the installed package")
            if top in FORBIDDEN_EXTERNAL.get(here, ()):
                bad.append(f"{path.relative_to(ROOT)}: {here} imports {top}")
    assert not bad, "\n".join(bad)


def test_the_walk_sees_a_forbidden_arrow(tmp_path):
    """The checker itself: a function-local import from inference into training is found."""
    tree = ast.parse("def f():\n    from tin_jax.training import trainer\n    from ..training import optim\n")
    got = _imports(tree, "tin_jax.inference.x", False)
    assert [(_package(t), n) for t, n in got] == [("training", ["trainer"]), ("training", ["optim"])]
    assert "training" not in ALLOWED["inference"]


def test_inference_and_evaluation_do_not_reach_training_or_tensorflow():
    """The arrows that matter most, spelled out: inference never imports training; the
    evaluators never import the model, the pipeline or TensorFlow."""
    assert "training" not in ALLOWED["inference"]
    assert not {"models", "data", "training", "inference", "state"} & ALLOWED["evaluation"]
    assert "tensorflow" in FORBIDDEN_EXTERNAL["evaluation"]
    assert not {"data", "training", "inference", "evaluation"} & ALLOWED["models"]


def _private_uses(path: pathlib.Path, tree: ast.AST, module: str) -> list[str]:
    """``from x import _name`` and ``alias._name`` where ``alias`` is another tin_jax or
    data_prep module."""
    bad, aliases = [], {}
    for target, names in _imports(tree, module, path.name == "__init__.py"):
        if target.split(".")[0] not in ("tin_jax", "data_prep"):
            continue
        for n in names:
            if n.startswith("_") and not n.startswith("__"):
                bad.append(f"{path.relative_to(ROOT)}: from {target} import {n}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("tin_jax", "data_prep"):
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in ("tin_jax", "data_prep"):
                    aliases[a.asname or a.name.split(".")[0]] = a.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_") and not node.attr.startswith("__")):
            bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    return bad


def test_no_private_name_is_used_across_modules():
    bad = []
    for path in _python_files(*CODE_DIRS) + [pathlib.Path(ROOT) / s for s in SCRIPTS]:
        bad += _private_uses(path, ast.parse(path.read_text(), str(path)), _module_name(path))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("directory", CODE_DIRS + SCRIPTS)
def test_modules_and_functions_stay_small(directory):
    paths = ([pathlib.Path(ROOT) / directory] if directory.endswith(".py")
             else _python_files(directory))
    bad = []
    for path in paths:
        src = path.read_text()
        if src.count("\n") > MAX_MODULE_LINES:
            bad.append(f"{path.relative_to(ROOT)}: {src.count(chr(10))} lines")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    bad.append(f"{path.relative_to(ROOT)}: {node.name} is {length} lines")
    assert not bad, "\n".join(bad)


def test_importing_the_evaluators_loads_no_tensorflow_or_jax():
    """Not only the import statements: what actually loads (a fresh interpreter)."""
    import subprocess
    import sys
    code = ("import sys; import tin_jax.evaluation.hico_det, tin_jax.evaluation.vcoco, "
            "tin_jax.evaluation.binary, tin_jax.evaluation.reports, tin_jax.inference.postprocess; "
            "print(sorted(m for m in ('tensorflow', 'jax', 'flax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ), timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout
