"""Write one section of BENCHMARKS.md, replacing the section of the same heading if present."""

from __future__ import annotations

import re
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def write_section(heading: str, body: str) -> None:
    """``heading`` like ``"## Prediction speed"``; ``body`` the text below it."""
    section = f"{heading}\n\n{body.strip()}\n"
    text = PATH.read_text() if PATH.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    PATH.write_text(text.rstrip() + "\n")
