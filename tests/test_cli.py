import subprocess
import sys

from surrogate.cli import main


def test_help_and_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "surrogate", "--help"], capture_output=True, text=True, check=True)
    assert "usage: surrogate" in out.stdout


def test_space_summary(capsys):
    assert main(["space", "nb201"]) == 0
    out = capsys.readouterr().out
    assert "15,625 cells" in out and "6,466" in out and "341" in out


def test_import_does_not_import_aihwkit_or_torch():
    code = "import sys, surrogate; surrogate.Cell.from_anb((2,2,0,4,2,1)); print('aihwkit' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_space_names_the_count_rank_uses(capsys):
    assert main(["space"]) == 0
    assert "distinct networks (normal form; `rank` lists each once): 5,425" in capsys.readouterr().out


def test_predict_and_rank_json_for_scripts(capsys):
    import json

    assert main(["predict", "2,2,0,4,2,1", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--t", "86400",
                 "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["index"] for r in records] == [0, 1] and records[0]["training"] == "hwa"
    assert all(r["lower"] <= r["accuracy"] <= r["upper"] for r in records)
    assert records[1]["accuracy"] == 10.0  # a degenerate cell scores chance
    assert main(["rank", "--t", "2592000", "--top", "3", "--json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    assert ranked[0]["accuracy"] >= ranked[1]["accuracy"] >= ranked[2]["accuracy"]


def test_top_must_be_positive(capsys):
    import pytest

    for bad in ("0", "-3", "x"):
        with pytest.raises(SystemExit) as exc:
            main(["rank", "--t", "60", "--top", bad])
        assert exc.value.code == 2
        assert "--top" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "surrogate", "rank", "--t", "60", "--top", "5000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # the reader leaves, as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_fit_refuses_to_replace_a_model_without_force(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("{}")
    assert main(["fit", "--cells", "sample:20", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "exists and is not an empty directory" in err and "--force" in err and err.count("\n") == 1
    assert (tmp_path / "manifest.json").read_text() == "{}"
