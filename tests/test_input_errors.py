"""Every argument error names the argument and what it accepts (issue 21, strict input); booleans are
neither times nor levels; the command line turns each into one line and exit code 2."""

import numpy as np
import pytest

import surrogate
from surrogate import Cell
from surrogate.cli import main
from surrogate.core import check_level, check_t_inference, check_training, get_chip

CELL = Cell.from_anb((2, 2, 0, 4, 2, 1))
TRUNCATED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
T_ACCEPTED = r"t_inference must be finite seconds > 0 since programming \(a number or a 1-D sequence of numbers"
ARCH_ACCEPTED = (r"arch must be a Cell, an NB-201 string \('\|op~0\|\+\|op~0\|op~1\|\+\|op~0\|op~1\|op~2\|'\), "
                 r"a 'dag:' string .* or an AnalogNAS-Bench tuple of 6 op indices .*, or a list of those; got ")
CHIP_ACCEPTED = r"chip must be a preset name \(anb-pcm, .*\), a Chip, a chip dict or the path of a JSON chip file"


@pytest.mark.parametrize("t, shown", [("abc", "got str 'abc'"), (True, "got bool True"), (False, "got bool False"),
                                      (np.bool_(True), "got bool"), ([60, True], r"got list \[60, True\]"),
                                      ([60, "1h"], "got list"), (None, "got NoneType None"), ({"t": 60}, "got dict")])
def test_t_inference_errors_name_it_and_refuse_booleans(t, shown):
    for call in (lambda: surrogate.predict(CELL, t), lambda: surrogate.rank([CELL, CELL], t),
                 lambda: check_t_inference(t)):
        with pytest.raises(ValueError, match=f"{T_ACCEPTED}.*{shown}"):
            call()


@pytest.mark.parametrize("arch, got", [(5, "int 5"), (3.5, "float 3.5"), (None, "NoneType None"),
                                       (True, "bool True"), ([CELL, 3.5], "float 3.5"), ([CELL, None], "NoneType")])
def test_arch_errors_name_it_and_list_the_forms(arch, got):
    for call in (lambda: surrogate.predict(arch, 60), lambda: surrogate.rank(arch, 60)):
        with pytest.raises(ValueError, match=ARCH_ACCEPTED + got):
            call()
        with pytest.raises(TypeError):  # what it raised before strict input, still caught by `except TypeError`
            call()


def test_truncated_nb201_string_is_refused_by_predict_rank_and_as_cell():
    for call in (lambda: surrogate.predict(TRUNCATED, 60), lambda: surrogate.rank([CELL, TRUNCATED], 60),
                 lambda: surrogate.as_cell(TRUNCATED)):
        with pytest.raises(ValueError, match="not an NB-201 string: it has 2 '\\+'-separated groups.*'dag:'"):
            call()
    # the explicit form of the same 3-node DAG is answered, and is not the NB-201 cell it was cut from
    short = surrogate.predict("dag:" + TRUNCATED, 60)
    assert np.isfinite(short.accuracy) and short.accuracy != surrogate.predict(CELL, 60).accuracy


def test_a_stored_dag_string_never_bypasses_the_strict_parse():
    """Once a DAG cell has been asked for, its to_str() (a stored key) is still not an NB-201 string."""
    model = surrogate.load("anb-cifar10")
    dag = Cell.from_dag_str(TRUNCATED)
    model.predict(dag, 60)
    model.predict([dag, CELL], 60)
    with pytest.raises(ValueError, match="not an NB-201 string"):
        model.predict(dag.to_str(), 60)
    with pytest.raises(ValueError, match="not an NB-201 string"):
        model.predict([dag.to_str(), CELL.to_str()], 60)
    assert model.predict(str(dag), 60).accuracy == model.predict(dag, 60).accuracy


@pytest.mark.parametrize("training", ["digital", 5, None, True, ["hwa"]])
def test_training_errors_name_it_and_list_both(training):
    for call in (lambda: surrogate.predict(CELL, 60, training=training),
                 lambda: surrogate.rank([CELL, CELL], 60, training=training), lambda: check_training(training)):
        with pytest.raises(ValueError, match=r"training must be one of \['standard', 'hwa'\] \(accepted: 'standard', .*'hwa'"):
            call()


@pytest.mark.parametrize("chip, shown", [("tpu", "no chip 'tpu': "), (5, ""), (True, ""), (3.5, "")])
def test_chip_errors_name_it_and_list_the_presets(chip, shown):
    tail = "" if shown else f"; got {type(chip).__name__} {chip!r}"
    for call in (lambda: surrogate.predict(CELL, 60, chip=chip), lambda: get_chip(chip)):
        with pytest.raises(ValueError, match=shown + CHIP_ACCEPTED + tail.replace(".", r"\.")):
            call()


@pytest.mark.parametrize("level", [True, False, 0, 1, 1.5, -0.1, "0.9", None, float("nan"), [0.9]])
def test_level_errors_name_it_and_refuse_booleans(level):
    for call in (lambda: surrogate.predict(CELL, 60, level=level), lambda: check_level(level)):
        with pytest.raises(ValueError, match=r"level must be in \(0, 1\): a number, the coverage of the "
                                             rf"\[lower, upper\] interval \(e\.g\. 0\.9\); got {type(level).__name__}"):
            call()
    assert check_level(np.float32(0.5)) == 0.5 and surrogate.predict(CELL, 60, level=np.float64(0.5)).level == 0.5


@pytest.mark.parametrize("argv, said", [
    (["predict", TRUNCATED, "--t", "60"], "not an NB-201 string: it has 2 '+'-separated groups"),
    (["predict", "5", "--t", "60"], "malformed NB-201 string '5'"),
    (["predict", "2,2,0,4,2,9", "--t", "60"], "op index 9 is out of range"),
    (["predict", "2,2,0,4,2,1", "--t", "60", "--level", "1.5"], "level must be in (0, 1)"),
    (["predict", "2,2,0,4,2,1", "--t", "-1"], "t_inference must be finite seconds > 0"),
    (["predict", "2,2,0,4,2,1", "--t", "60", "--chip", "tpu"], "no chip 'tpu': chip must be a preset name"),
])
def test_cli_errors_are_one_line_and_exit_2(capsys, argv, said):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("surrogate: error: ") and err.count("\n") == 1 and said in err


def test_cli_reads_dag_strings_and_shows_them_pasteable(capsys):
    assert main(["predict", "dag:" + TRUNCATED, "--t", "60"]) == 0
    shown = capsys.readouterr().out.split()[-1]
    assert shown == "dag:" + TRUNCATED and surrogate.as_cell(shown) == Cell.from_dag_str(TRUNCATED)
