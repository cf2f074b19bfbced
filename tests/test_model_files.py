"""A saved model folder is checked against its manifest before anything is read from it."""

import json
import pickle
import shutil
import warnings

import pytest

import surrogate
from surrogate.models.persistence import seal

SHIPPED = surrogate.api.__file__.rsplit("/", 1)[0] + "/shipped/anb-cifar10"


@pytest.fixture
def copy(tmp_path):
    out = tmp_path / "model"
    shutil.copytree(SHIPPED, out)
    return out


def test_the_shipped_models_are_sealed_and_load_without_warnings():
    for folder in surrogate.api.SHIPPED.values():
        manifest = json.loads(open(f"{folder}/manifest.json").read())
        assert set(manifest["files"]) >= {"xgb_0.ubj", "gnn_0.pt", "cache.npz"}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            surrogate.load(folder)


def test_an_intact_copy_loads_and_predicts(copy):
    assert 0 < surrogate.load(copy).predict((2, 2, 0, 4, 2, 1), 86400).accuracy < 100


@pytest.mark.parametrize("name, content, what", [
    ("xgb_0.ubj", b"garbage" * 100, "changed: xgb_0.ubj"),
    ("gnn_0.pt", pickle.dumps({"weights": [1, 2, 3]}), "changed: gnn_0.pt"),
    ("cache.npz", None, "changed: cache.npz"),  # truncated
])
def test_a_changed_file_is_refused_by_name(copy, name, content, what):
    data = (copy / name).read_bytes()
    (copy / name).write_bytes(content if content is not None else data[: len(data) // 2])
    with pytest.raises(ValueError, match=what):
        surrogate.load(copy)


def test_a_missing_or_extra_file_is_refused(copy):
    (copy / "xgb_1.ubj").unlink()
    with pytest.raises(ValueError, match="missing: xgb_1.ubj"):
        surrogate.load(copy)
    shutil.copy(SHIPPED + "/xgb_1.ubj", copy)
    (copy / "gnn_9.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="not saved with it: gnn_9.pt"):
        surrogate.load(copy)


def test_an_edited_manifest_is_refused(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["chance"] = 50.0
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="manifest.json was edited"):
        surrogate.load(copy)
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        surrogate.load(copy)


def test_an_unsealed_folder_warns_and_seal_records_it(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"], manifest["manifest_sha256"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match="without file checksums"):
        surrogate.load(copy)
    seal(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        surrogate.load(copy)


