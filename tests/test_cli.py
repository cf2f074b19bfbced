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
