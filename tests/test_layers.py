"""The package's layers point one way (README, "The package"): records and the recipe never load the trainer,
and no module imports a layer below its own (issue #15)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

# module -> package modules it must not load (directly or through another)
LOWER_THAN = {
    "resnet_book.provenance": ["resnet_book.models", "resnet_book.runs", "resnet_book.train"],
    "resnet_book.recipe": ["resnet_book.train", "resnet_book.runs", "resnet_book.packed", "resnet_book.data"],
    "resnet_book.records": ["resnet_book.models", "resnet_book.runs", "resnet_book.train", "resnet_book.recipe"],
    "resnet_book.runs": ["resnet_book.train", "resnet_book.packed", "resnet_book.plots", "resnet_book.bench"],
    "resnet_book.benchmarks": ["resnet_book.train", "resnet_book.packed", "resnet_book.bench", "resnet_book.runs"],
    "resnet_book.estimates": ["resnet_book.train", "resnet_book.sweeps", "resnet_book.bench", "resnet_book.runs"],
}


@pytest.mark.parametrize("module", sorted(LOWER_THAN))
def test_a_lower_layer_loads_without_the_higher_ones(module):
    """Importing ``module`` and using it as records do (validate a record) loads none of the layers above."""
    use = {
        "resnet_book.runs": "from resnet_book.runs import RUNS_DIR, load_run; load_run(sorted(RUNS_DIR.glob('*.json'))[0]); ",
        "resnet_book.benchmarks": "from resnet_book.benchmarks import load_benchmarks; load_benchmarks(); ",
        "resnet_book.estimates": "from resnet_book.estimates import cost, on_t4; cost('resnet56'); on_t4('resnet20', 10); ",
    }.get(module, "")
    code = f"import sys, {module}; {use}print(' '.join(sorted(m for m in sys.modules if m.startswith('resnet_book'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert module in loaded
    assert not set(loaded) & set(LOWER_THAN[module]), f"{module} loads {set(loaded) & set(LOWER_THAN[module])}"


# The README's layers ("The package"), top to bottom; __main__ (the command line) stands on all of them.
LAYERS = [
    {"paper", "models", "flops", "data", "provenance", "tables"},  # facts
    {"recipe", "options"},
    {"records", "runs", "benchmarks", "estimates", "weights"},  # records, and what they let us estimate
    {"train", "checkpoints", "packed", "sweeps", "bench", "imagenet"},  # engine
    {"analysis", "report", "diagrams", "plots", "widgets", "live"},  # pages
    {"jobs"},  # a run from its name to its record
]
PACKAGE = Path(__file__).resolve().parents[1] / "resnet_book"


def package_imports(path: Path) -> set[str]:
    """The package modules ``path`` imports, at the top or inside a function (``from .x import``, ``from . import x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
    return found - {"__init__", "__version__"}


def test_the_readme_layers_name_every_module():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert set().union(*LAYERS) == modules


@pytest.mark.parametrize("module", sorted(set().union(*LAYERS)))
def test_a_module_imports_only_its_own_layer_or_the_ones_above(module):
    level = next(i for i, layer in enumerate(LAYERS) if module in layer)
    allowed = set().union(*LAYERS[: level + 1])
    assert package_imports(PACKAGE / f"{module}.py") <= allowed, f"{module} imports a layer below its own"


# One meaning per name (issue #28): a top-level name is defined in one module only. SCHEMA, SPEC, KIND and
# validate mean one thing in each records module: its own.
SHARED_ON_PURPOSE = {"SCHEMA", "SPEC", "KIND", "validate"}


def test_no_new_top_level_name_means_two_things():
    defined: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                names = []
            for name in names:
                defined.setdefault(name, set()).add(path.stem)
    twice = {name for name, modules in defined.items() if len(modules) > 1}
    assert twice - SHARED_ON_PURPOSE == set(), "a name defined in two modules"
    assert SHARED_ON_PURPOSE <= twice, "no longer shared: take it off SHARED_ON_PURPOSE"


def test_only_the_command_line_reads_its_arguments():
    """``__main__`` parses the arguments and hands the library values (``Config``s, an ``Engine``, paths);
    ``options`` gives it its number types. No other module imports argparse, so no ``argparse.Namespace``
    goes past the command line (issue #28)."""
    readers = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                readers.add(path.stem)
            elif isinstance(node, ast.ImportFrom) and node.module == "argparse":
                readers.add(path.stem)
    assert readers == {"__main__", "options"}
