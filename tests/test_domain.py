"""What a user sees besides the numbers: no library's warning on a normal call (issue 21)."""

import json
import subprocess
import sys

import pytest

#: A fresh interpreter predicts cells outside the shipped caches (torch, torch-geometric and xgboost are
#: imported there, for the first time) and reports every warning raised, whatever the filters say.
_FRESH = """
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import surrogate
    from surrogate import Cell
    chain = Cell.from_edges({n}, [(i, i + 1, "nor_conv_3x3") for i in range({n} - 1)] + [(0, {n} - 1, "skip_connect")])
    surrogate.predict(chain, [60, 86400], model={model!r})
    surrogate.predict([chain, chain.dag_str()], 3600, model={model!r}, training="standard")
print(json.dumps([[w.category.__module__, w.category.__name__, str(w.message)] for w in caught]))
"""


@pytest.mark.parametrize("model, n", [("anb-cifar10", 5), ("proxy-digits", 5), ("anb-cifar10", 10)])
def test_a_new_cell_prediction_emits_no_library_warning(model, n):
    out = subprocess.run([sys.executable, "-c", _FRESH.format(model=model, n=n)], capture_output=True, text=True,
                         check=True).stdout
    caught = json.loads(out.strip().splitlines()[-1])
    foreign = [w for w in caught if not w[0].startswith("surrogate")]
    assert foreign == [], foreign
