"""The built wheel works where the source tree is absent: a fresh virtual environment, not editable.

The wheel is built from this checkout and installed without dependencies into a new venv; the
dependencies are borrowed from the test environment through a path file (so nothing is downloaded),
while `surrogate` itself can only come from the wheel. Then the CLI, both data sets, both models and
one notebook run there, from a folder outside the source tree.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(ROOT)], check=True, capture_output=True)
    (whl,) = (tmp / "dist").glob("surrogate-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    # dependencies from the test environment, appended after the venv's own site-packages
    Path(purelib, "borrowed_deps.pth").write_text("\n".join(sorted(here)) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", purelib, str(whl)],
                   check=True, capture_output=True)
    work = tmp / "elsewhere"
    work.mkdir()
    return py, Path(purelib), work, whl


def _run(env, *args, **kw):
    py, _, work, _ = env
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(py), *args], cwd=work, env=environ, capture_output=True, text=True, timeout=600, **kw)


def test_the_wheel_holds_models_data_and_profiles(wheel_env):
    import zipfile

    names = set(zipfile.ZipFile(wheel_env[3]).namelist())
    for needed in ("surrogate/shipped/anb-cifar10/manifest.json", "surrogate/shipped/proxy-digits/cache.npz",
                   "surrogate/shipped/proxy-mnist/manifest.json", "surrogate/data/shipped/proxy-digits.sqlite",
                   "surrogate/data/shipped/proxy-mnist.sqlite", "surrogate/data/shipped/checksums.json",
                   "surrogate/profiles/anb-cifar10.json", "surrogate/profiles/proxy-mnist.json"):
        assert needed in names


def test_surrogate_comes_from_the_wheel(wheel_env):
    out = _run(wheel_env, "-c", "import surrogate; print(surrogate.__file__)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(wheel_env[1])) and str(ROOT) not in out.stdout


def test_cli_data_sets_and_models_from_the_wheel(wheel_env):
    out = _run(wheel_env, "-m", "surrogate", "predict", "2,2,0,4,2,1", "--t", "86400")
    assert out.returncode == 0 and "nor_conv_3x3" in out.stdout, out.stderr
    out = _run(wheel_env, "-m", "surrogate", "rank", "--t", "2592000", "--top", "3")
    assert out.returncode == 0 and len(out.stdout.strip().splitlines()) == 5, out.stderr
    out = _run(wheel_env, "-m", "surrogate", "validate", "--model", "anb-cifar10", "--oracle", "table",
               "--sample", "8", "--out", str(wheel_env[2] / "val"), "--quiet")
    assert out.returncode in (0, 1) and (wheel_env[2] / "val" / "report.json").is_file(), out.stderr
    code = ("import surrogate, surrogate.data as d\n"
            "for name in ('anb-cifar10', 'proxy-digits', 'proxy-mnist'):\n"
            "    gt = d.load(name); m = surrogate.load(name)\n"
            "    print(name, len(gt.cells), float(m.predict(gt.cells[:3], 86400).accuracy.mean()) > 0)\n")
    out = _run(wheel_env, "-c", code)
    assert out.returncode == 0, out.stderr
    assert "anb-cifar10 15625 True" in out.stdout and "proxy-digits 1240 True" in out.stdout
    assert "proxy-mnist 750 True" in out.stdout


def test_a_notebook_runs_against_the_wheel(wheel_env):
    pytest.importorskip("nbclient")
    nb = wheel_env[2] / "quickstart.ipynb"
    shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", nb)
    code = ("import nbformat, nbclient, sys\n"
            f"nb = nbformat.read({str(nb)!r}, as_version=4)\n"
            "nbclient.NotebookClient(nb, timeout=300, kernel_name='python3').execute()\n"
            "print('ok')\n")
    out = _run(wheel_env, "-c", code)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
