"""The package's layers point one way: records and the recipe never import the trainer (issue #15)."""

import subprocess
import sys

import pytest

# module -> package modules it must not load (directly or through another)
LOWER_THAN = {
    "resnet_book.provenance": ["resnet_book.models", "resnet_book.runs", "resnet_book.train"],
    "resnet_book.recipe": ["resnet_book.train", "resnet_book.runs", "resnet_book.packed", "resnet_book.data"],
    "resnet_book.runs": ["resnet_book.train", "resnet_book.packed", "resnet_book.plots"],
}


@pytest.mark.parametrize("module", sorted(LOWER_THAN))
def test_a_lower_layer_loads_without_the_higher_ones(module):
    """Importing ``module`` and using it as records do (validate a record) loads none of the layers above."""
    use = (
        "from resnet_book.runs import RUNS_DIR, load_run; load_run(sorted(RUNS_DIR.glob('*.json'))[0]); "
        if module.endswith("runs")
        else ""
    )
    code = f"import sys, {module}; {use}print(' '.join(sorted(m for m in sys.modules if m.startswith('resnet_book'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert module in loaded
    assert not set(loaded) & set(LOWER_THAN[module]), f"{module} loads {set(loaded) & set(LOWER_THAN[module])}"
