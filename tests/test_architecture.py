"""The package's structure, measured: floors, no circles, a ground floor on numpy alone, and what a
prediction from the cache imports. docs/architecture.md explains the floors checked here."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import surrogate

ROOT = Path(surrogate.__file__).parent

#: The floors, ground first (docs/architecture.md). A module imports from its own floor or lower.
FLOORS = {
    "surrogate.core": 1, "surrogate._normal_form": 1, "surrogate.cells": 1,
    "surrogate.chips": 2, "surrogate.nb201": 2, "surrogate.encoding": 2, "surrogate.calibration": 2,
    "surrogate.metrics": 2,
    "surrogate.data": 3,
    "surrogate.simulate": 4, "surrogate.models": 4,
    "surrogate.api": 5, "surrogate.nasbench": 5, "surrogate.validate": 5, "surrogate.research": 5,
    "surrogate.search": 5, "surrogate.insights": 5, "surrogate.plots": 5,
    "surrogate.cli": 6, "surrogate.__main__": 6,
}
#: Peers on one floor that never import each other: the simulator and the predictors meet in the store.
APART = [("surrogate.simulate", "surrogate.models")]


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ("surrogate", *path.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path):
    """``(imported module, names taken)`` for every import of the file, inside functions too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub, ()) if sub in MODULES else (target, (alias.name,))


def _edges():
    """``{(importer, imported): names}`` between the package's own modules."""
    edges = {}
    for name, path in MODULES.items():
        for target, names in _imports(name, path):
            while target not in MODULES and "." in target:
                target = target.rpartition(".")[0]
            if target in MODULES and target != name:
                edges.setdefault((name, target), set()).update(names)
    return edges


def _floor(module: str) -> int | None:
    prefixes = [p for p in FLOORS if module == p or module.startswith(p + ".")]
    return FLOORS[max(prefixes, key=len)] if prefixes else None


def test_every_module_has_a_floor():
    missing = [m for m in MODULES if m != "surrogate" and _floor(m) is None]
    assert not missing, f"put these modules on a floor (FLOORS here, and docs/architecture.md): {missing}"


def test_no_import_runs_down_to_up():
    up = [f"{a} (floor {_floor(a)}) imports {b} (floor {_floor(b)})" for a, b in _edges()
          if "surrogate" not in (a, b) and _floor(b) > _floor(a)]
    assert not up, "\n".join(up)
    apart = [(a, b) for a, b in _edges() for x, y in APART
             if a.startswith(x) and b.startswith(y) or a.startswith(y) and b.startswith(x)]
    assert not apart, apart


def test_the_package_face_hands_out_only_its_version():
    """``surrogate/__init__.py`` stands above everything (it re-exports the API lazily): below it, a
    module may take its ``__version__`` and nothing else."""
    taken = {a: names for (a, b), names in _edges().items() if b == "surrogate"}
    assert all(names <= {"__version__"} for names in taken.values()), taken


def test_no_circles():
    graph = {}
    for a, b in _edges():
        if b != "surrogate":
            graph.setdefault(a, set()).add(b)
    state, path, circles = {}, [], []

    def visit(m):
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                circles.append(path[path.index(n):] + [n])
            elif n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_the_ground_floor_needs_the_standard_library_and_numpy_only():
    for name, path in MODULES.items():
        if not name.startswith(("surrogate.core", "surrogate.cells", "surrogate._normal_form")):
            continue
        for target, _ in _imports(name, path):
            top = target.partition(".")[0]
            assert top in sys.stdlib_module_names or top in ("numpy", "surrogate", ""), f"{name} imports {target}"


def test_every_public_submodule_is_an_attribute():
    public = {m.split(".")[1] for m in MODULES if m.count(".") >= 1 and not m.split(".")[1].startswith("_")}
    assert public <= set(dir(surrogate)) | surrogate._SUBMODULES
    for name in public:
        assert getattr(surrogate, name).__name__ == f"surrogate.{name}"


def test_old_addresses_hand_out_the_same_objects():
    from surrogate import chips, core, simulate
    from surrogate.simulate import profiles, rpu

    assert chips.Chip is core.Chip and chips.get_chip is core.get_chip and chips.profile_chips is core.profile_chips
    assert profiles.get_profile is simulate.get_profile is core.get_profile and profiles.Profile is core.Profile
    assert rpu.ANB_RPU is core.ANB_RPU and rpu.check_rpu_spec is core.check_rpu_spec
    assert surrogate.data.TRAININGS is core.TRAININGS and surrogate.Chip is core.Chip


def test_every_profile_data_set_has_a_loader():
    from surrogate.simulate import load_dataset

    for name in surrogate.core.DATASETS:  # a loader checks its settings before it reads anything
        with pytest.raises(ValueError, match=f"unknown settings.*dataset {name!r}"):
            load_dataset({"name": name, "no-such-setting": 1})


def _fresh(code: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


HEAVY = "print(*(m in sys.modules for m in ('torch', 'xgboost', 'scipy')))"


def test_import_and_a_cached_prediction_stay_light():
    """A NAS loop that asks the shipped model about NB-201 cells pays for numpy, not for torch,
    xgboost or scipy: the cache holds the members' outputs, the calibrator is numpy."""
    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    code = ("import sys, surrogate\n" + HEAVY + "\n"
            f"p = surrogate.load('anb-cifar10').predict({cell!r}, 86400)\n"
            "assert 80 < p.accuracy < 100\n" + HEAVY)
    assert _fresh(code) == ["False"] * 6


def test_profiles_and_models_import_without_torch_or_scipy():
    code = ("import sys, surrogate.core, surrogate.models\n"
            "surrogate.core.get_profile('proxy-digits').chips\n" + HEAVY)
    assert _fresh(code) == ["False"] * 3
