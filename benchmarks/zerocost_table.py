"""Zero-cost scores of every NB-201 network (normal form) at initialisation, for the predictor-v3 ablation.

synflow and noise sensitivity (:mod:`surrogate.simulate.zerocost`) of the full NB-201 macro network
(C = 16, N = 5, 32x32) of each of the 5,425 normal forms, written to
``benchmarks/results/zerocost-nb201.json`` (resumable: rerun after a kill continues).

    PYTHONPATH=. python benchmarks/zerocost_table.py
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

from tqdm import tqdm

from surrogate import Cell
from surrogate.simulate.zerocost import noise_sensitivity, synflow

OUT = Path(__file__).parent / "results" / "zerocost-nb201.json"


def main() -> None:
    table = json.loads(OUT.read_text()) if OUT.is_file() else {}
    forms = list(dict.fromkeys(Cell.from_anb(t).simplified() for t in itertools.product(range(5), repeat=6)))
    todo = [f for f in forms if f.to_str() not in table]
    start = time.process_time()
    for k, form in enumerate(tqdm(todo, desc="zero-cost", unit="network")):
        table[form.to_str()] = {"synflow": synflow(form), "noise": noise_sensitivity(form)}
        if k % 200 == 199:
            OUT.write_text(json.dumps(table))
    OUT.write_text(json.dumps(table))
    if todo:
        print(f"{len(todo)} networks, {(time.process_time() - start) / len(todo) * 1000:.0f} CPU-ms each")


if __name__ == "__main__":
    main()
