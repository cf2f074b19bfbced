"""A fitted `Surrogate` on disk: a folder of plain files, no pickle.

- ``manifest.json``: settings, the fitted state (:data:`FIELDS` here, and the calibrator's own; the
  fitted ``domain``, :class:`~surrogate.models.domain.Domain`, is ``null`` in a model saved before it
  was recorded), the feature layouts, metrics, and the member files;
- ``gnn_<i>.pt`` (``state_dict``, read back with ``torch.load(weights_only=True)``) and
  ``xgb_<i>.ubj`` (XGBoost's own format): the members;
- ``cache.npz`` (optional): the members' outputs for some cells (one row per normal form, named by
  its NB-201 string), so that a fresh process answers for them without loading torch or xgboost,
  and ``nb201``: the row of each cell of :func:`~surrogate.nb201.all_cells` (-1 if absent), so that
  it looks them up without computing a normal form.

The manifest records the SHA-256 of every other file (``files``) and of itself (``manifest_sha256``,
over its canonical JSON without that key): :func:`load` refuses a changed, missing or extra file by
name before anything is read from it, so a corrupt folder fails at ``load``, not at the first
prediction of a new cell.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from ..cells import as_cell
from ..core import CHIP_FEATURES, Chip
from ..encoding import FeatureSpec
from ..nb201 import all_cells
from .calibrator import Calibrator
from .domain import Domain

__all__ = ["FORMAT_VERSION", "FIELDS", "save", "seal", "verify", "load", "load_members", "nb201_rows",
           "read_cache"]

FORMAT_VERSION = 2

#: The model's own fitted state, once: attribute (with a trailing ``_``) = manifest key -> (to, from JSON).
FIELDS = {
    "profile": (dict, dict),
    "profile_hash": (str, str),
    "chips": (lambda chips: [c.to_dict() for c in chips], lambda chips: [Chip.from_dict(c) for c in chips]),
    "ground_truth_hash": (str, str),
    "n_cells": (int, int),
    "chance": (float, float),
    "shapes": (lambda s: [list(x) for x in s], lambda s: [tuple(x) for x in s]),
    "metrics": (dict, dict),
    "domain": (lambda d: None if d is None else d.to_dict(), lambda d: None if d is None else Domain.from_dict(d)),
    "networks": (lambda n: None if n is None else dict(n),  # normal form -> its training cells
                 lambda n: None if n is None else dict(n) if isinstance(n, dict) else dict.fromkeys(n, 1)),
}
#: Fields a manifest written by an earlier version may lack (read as ``None``).
OPTIONAL = ("domain", "networks")


def save(model, path, precompute=None) -> Path:
    """Write ``model`` to the folder ``path``; ``precompute``: cells whose member outputs go in the cache."""
    import torch

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    files = {}
    for m, models in model.members_.items():
        files[m] = []
        for i, member in enumerate(models):
            if m == "gnn":
                name = f"gnn_{i}.pt"
                torch.save(member.state_dict(), path / name)
                files[m].append({"file": name, "params": member.get_params(), "knots": member.knots_.tolist()})
            else:
                name = f"xgb_{i}.ubj"
                member.save_booster(path / name)
                files[m].append({"file": name, "params": member.get_params()})
    settings = model.get_params()
    del settings["progress"]
    settings["members"] = list(settings["members"])
    manifest = {
        "format": "surrogate-model", "format_version": FORMAT_VERSION, "package_version": __version__,
        "settings": settings,
        **{key: to_json(getattr(model, f"{key}_", None)) for key, (to_json, _) in FIELDS.items()},
        "chip_features": list(CHIP_FEATURES) if model.chip_aware_ else None,
        "feature_spec": FeatureSpec().to_dict(),
        **model.calibrator_.to_manifest(),
        "members": files,
    }
    (path / "cache.npz").unlink(missing_ok=True)
    if precompute is not None:
        keys = list(dict.fromkeys(as_cell(c).simplified() for c in precompute))
        entries = model._entries(keys, model.chip_)
        np.savez_compressed(path / "cache.npz", cells=np.array([c.to_str() for c in keys]),
                            chips=np.array([model.chip_.hash] * len(keys)), nb201=nb201_rows(keys),
                            **{m: v.astype(np.float32) for m, v in entries.items()})
    listed = {e["file"] for items in files.values() for e in items} | ({"cache.npz"} if precompute is not None else set())
    for stale in path.iterdir():  # members of an earlier, larger model saved here
        if stale.name not in listed | {"manifest.json"} and stale.suffix in (".pt", ".ubj"):
            stale.unlink()
    _write_manifest(path, manifest)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest_digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _write_manifest(path: Path, manifest: dict) -> None:
    manifest = dict(manifest)
    manifest["files"] = {f.name: _sha256(f) for f in sorted(path.iterdir()) if f.is_file()
                         and f.name != "manifest.json" and not f.name.startswith(".")}
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest, indent=1))


def seal(path) -> Path:
    """Record the checksums of a model folder saved before they existed (or after a deliberate edit)."""
    path = Path(path)
    _write_manifest(path, json.loads((path / "manifest.json").read_text()))
    return path


def verify(path: Path, manifest: dict) -> None:
    """Refuse a model folder whose files differ from what its manifest records."""
    if "files" not in manifest:
        warnings.warn(f"{path} was saved without file checksums (by an earlier surrogate); its files cannot be "
                      "verified: save it again, or call surrogate.models.persistence.seal on it", stacklevel=3)
        return
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise ValueError(f"{path / 'manifest.json'} was edited after the model was saved (its checksum does "
                         "not match); refusing the model: save it again from the fitted estimator")
    present = {f.name for f in path.iterdir() if f.is_file() and f.name != "manifest.json"
               and not f.name.startswith(".")}
    missing = sorted(set(manifest["files"]) - present)
    extra = sorted(present - set(manifest["files"]))
    changed = sorted(n for n in set(manifest["files"]) & present if _sha256(path / n) != manifest["files"][n])
    problems = [f"{what} {', '.join(names)}" for what, names in
                (("changed:", changed), ("missing:", missing), ("not saved with it:", extra)) if names]
    if problems:
        raise ValueError(f"the model folder {path} does not hold the files it was saved with ("
                         + "; ".join(problems) + "); refusing to load it")


def load(cls, path):
    """A ``cls`` (a :class:`~surrogate.models.Surrogate`) read from the folder ``path``: its state
    now, its members and cache on first use."""
    path = Path(path)
    if not (path / "manifest.json").is_file():
        raise FileNotFoundError(f"no saved model at {path} (expected {path / 'manifest.json'})")
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path / 'manifest.json'} is not valid JSON ({err}); refusing the model") from None
    if manifest.get("format") != "surrogate-model" or manifest.get("format_version", 0) != FORMAT_VERSION:
        raise ValueError(f"{path} is not a surrogate model of format version {FORMAT_VERSION} "
                         f"(found {manifest.get('format')!r} version {manifest.get('format_version')!r}): refit it")
    verify(path, manifest)
    if manifest["feature_spec"] != FeatureSpec().to_dict():
        raise ValueError(f"{path} was saved with another feature layout: {manifest['feature_spec']}")
    if manifest.get("chip_features") not in (None, list(CHIP_FEATURES)):
        raise ValueError(f"{path} was saved with another chip feature layout: {manifest['chip_features']}")
    if "chips" not in manifest:  # written before chip-aware models: one chip
        manifest["chips"] = [manifest["chip"]]
    settings = {"twins": "cell", "novelty": False, **manifest["settings"]}  # saved before these settings
    model = cls(**{**settings, "members": tuple(settings["members"])})
    for key, (_, from_json) in FIELDS.items():
        setattr(model, f"{key}_", from_json(manifest.get(key) if key in OPTIONAL else manifest[key]))
    model.calibrator_ = Calibrator.from_manifest(manifest)
    model.times_ = model.calibrator_.times_
    model.kinds_ = list(manifest["members"])
    if "gnn" in manifest["members"]:
        model.knots_ = np.asarray(manifest["members"]["gnn"][0]["knots"], dtype=float)
    model._member_files = (path, manifest["members"])
    model._cache_file = path / "cache.npz"
    return model


def load_members(path: Path, entries: dict) -> dict:
    """Members from the files a manifest lists: ``torch.load(weights_only=True)`` and XGBoost UBJSON."""
    import torch

    from .gnn import GNNRegressor
    from .xgb import XGBRegressor

    out = {}
    for m, items in entries.items():
        if m == "gnn":
            out[m] = [GNNRegressor.from_state(e["params"], e["knots"],
                                              torch.load(path / e["file"], weights_only=True)) for e in items]
        else:
            out[m] = [XGBRegressor.from_booster(e["params"], path / e["file"]) for e in items]
    return out


def nb201_rows(forms) -> np.ndarray:
    """The index in ``forms`` (normal forms) of each NB-201 cell's normal form, -1 where absent."""
    row = {form: i for i, form in enumerate(forms)}
    return np.array([row.get(c.simplified(), -1) for c in all_cells()], dtype=np.int32)


def read_cache(path: Path | None, kinds, default_chip_hash: str) -> dict:
    """``{chip hash: rows}`` from a ``cache.npz`` (empty if absent), where ``rows`` holds ``cells``
    (the normal forms' NB-201 strings), ``entries`` (``{kind: [n, ...]}``) and ``nb201`` (the row of
    each NB-201 cell, -1 if absent; ``None`` if the file has no such index). A cache written before
    chip-aware models holds the default chip's outputs."""
    if path is None or not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as f:
        arrays = {m: f[m] for m in kinds}
        cells = f["cells"]
        chips = f["chips"] if "chips" in f.files else np.full(len(cells), default_chip_hash)
        index = f["nb201"] if "nb201" in f.files else None
    out = {}
    for chip in dict.fromkeys(chips.tolist()):
        mine = np.flatnonzero(chips == chip)
        local = np.full(len(cells), -1)
        local[mine] = np.arange(len(mine))
        out[chip] = {"cells": cells[mine].tolist(), "entries": {m: a[mine] for m, a in arrays.items()},
                     "nb201": None if index is None else np.where(index >= 0, local[index], -1)}
    return out
