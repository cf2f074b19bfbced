"""The documentation runs as written: every Python block, and every shell command not marked as
needing hardware, in README.md and docs/*.md.

Python blocks of one page run in order in one fresh interpreter (a reader pastes them in order),
in an empty folder. In shell blocks, each ``surrogate ...`` command runs as a process; any other
line must say why it is not run here with a trailing ``# needs: ...`` (a GPU, CIFAR-10, SLURM, a
long run); so must a Python block, on its first line. The README's first block is the set-up that
CI itself runs.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(page: Path, lang: str) -> list[str]:
    found = [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text())]
    if page.name == "README.md":
        found = found[1:]  # the set-up commands
    return [body for kind, body in found if kind == lang and not body.startswith("# needs:")]


def commands(page: Path) -> list[str]:
    out = []
    for body in blocks(page, "bash"):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def _env():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # this checkout's package, whichever one the interpreter has installed (a git worktree beside an
    # editable install of another checkout would otherwise run these docs against that one's code)
    env["PYTHONPATH"] = str(ROOT)
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p, "python")], ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path):
    code = "\n\n".join(blocks(page, "python"))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"{page.name}: a Python block failed:\n{out.stderr[-3000:]}"


@pytest.mark.parametrize("page", [p for p in PAGES if commands(p)], ids=lambda p: p.name)
def test_shell_commands_run_or_say_why_not(page, tmp_path):
    for line in commands(page):
        if "# needs:" in line:
            continue
        assert line.startswith("surrogate "), (
            f"{page.name}: {line!r} is neither a `surrogate` command (run by this test) nor marked `# needs: ...`")
        argv = shlex.split(line.split(" #")[0])[1:]
        out = subprocess.run([sys.executable, "-m", "surrogate", *argv], cwd=tmp_path, env=_env(),
                             capture_output=True, text=True, timeout=600)
        assert out.returncode in (0, 1) and "Traceback" not in out.stderr, (
            f"{page.name}: `{line}` exited {out.returncode}:\n{out.stderr[-2000:]}")
