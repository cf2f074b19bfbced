"""The public one-liners and the CLI, against the shipped model `anb-cifar10`."""

import json
import subprocess
import sys

import pytest

import surrogate
from surrogate import Cell
from surrogate.cli import main

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
C2 = "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


def test_design_interface():
    cell = surrogate.Cell.from_str(EXAMPLE)
    p = surrogate.predict(cell, t_inference=86400)
    assert all(isinstance(v, float) for v in (p.accuracy, p.std, p.lower, p.upper, p.degradation))
    assert 10 < p.accuracy < 100 and p.lower < p.accuracy < p.upper and p.degradation >= 0
    P = surrogate.predict([cell, C2, (1, 1, 1, 1, 1, 1)], t_inference=[60, 3600])
    assert P.accuracy.shape == P.std.shape == P.degradation.shape == (3, 2)
    assert P.accuracy[2].tolist() == [10.0, 10.0]
    model = surrogate.load("anb-cifar10")
    assert model is surrogate.load("anb-cifar10")  # loaded once
    assert model.predict([cell], 86400, training="hwa").accuracy[0] == pytest.approx(p.accuracy)
    std = model.predict([cell, C2], 86400, training="standard")
    assert std.accuracy.shape == (2,)
    order = model.rank([cell, C2, (1, 1, 1, 1, 1, 1)], t_inference=2592000)
    assert order[-1] == 2
    assert surrogate.rank([cell, C2], 60).shape == (2,)


def test_shipped_model_card():
    model = surrogate.load("anb-cifar10")
    assert model.profile_["name"] == "anb-cifar10"
    held = model.metrics_["held_out"]
    assert held["hwa"]["kendall"] > 0.6 and 0.8 < held["hwa"]["coverage"] < 0.97


def test_shipped_model_agrees_with_ground_truth():
    """On a spread of cells the shipped model ranks much like the table (all cells, not held-out only)."""
    gt = surrogate.data.load_analognasbench()
    cells = surrogate.nb201.all_cells()[::25]
    mean = gt.subset(cells).targets("hwa").mean[:, -1]
    pred = surrogate.predict(cells, 2592000).accuracy
    assert surrogate.metrics.kendall(pred, mean) > 0.6


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="shipped models: anb-cifar10"):
        surrogate.load("no-such-model")
    with pytest.raises(FileNotFoundError):
        surrogate.load(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a surrogate model"):
        surrogate.load(bad)


def test_cli_predict_and_rank(capsys):
    assert main(["predict", EXAMPLE, "--t", "86400"]) == 0
    out = capsys.readouterr().out
    assert "hwa accuracy" in out and EXAMPLE in out
    assert main(["rank", "--space", "nb201", "--t", "2592000", "--top", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "top 5 of 5,425 distinct networks among 15,625" in lines[0] and len(lines) == 2 + 5
    shown = [Cell.from_str(line.split()[-1]).simplified() for line in lines[2:]]
    assert len(set(shown)) == 5  # equal networks drawn differently are listed once
    acc = [float(line.split()[1]) for line in lines[2:]]
    assert acc == sorted(acc, reverse=True)
    assert main(["predict", "2,2,0,4,2,1", "--t", "86400", "--chip", "anb-pcm"]) == 0  # an ANB tuple, as in Python
    assert EXAMPLE in capsys.readouterr().out


def test_cli_bad_input_exit_code(capsys):
    assert main(["predict", "|bogus~0|", "--t", "60"]) == 2
    assert "unknown op" in capsys.readouterr().err
    assert main(["predict", EXAMPLE, "--t", "-1"]) == 2
    assert main(["predict", EXAMPLE, "--t", "60", "--chip", "pcm-6bit"]) == 2
    assert "cannot predict chip 'pcm-6bit'" in capsys.readouterr().err


def test_cli_fit(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["fit", "--cells", "sample:30", "--folds", "2", "--evaluate", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_cells"] == 30 and "held_out" in manifest["metrics"]
    assert manifest["metrics"]["train_cells"].startswith("sample:30")


def test_console_script_help():
    res = subprocess.run([sys.executable, "-m", "surrogate", "rank", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "--top" in res.stdout
