"""The linter's rules (pyproject.toml ``[tool.ruff]``) hold for the package, the tests and the chapters, and the
package and the tests are laid out as ``ruff format`` lays them out (chapters are left as written for the page)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert found, "ruff is not installed in this environment (requirements.txt pins it): run make"
    return subprocess.run([found, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_as_the_formatter_lays_it_out():
    result = ruff("format", "--check", "--diff", ".")
    assert result.returncode == 0, "run `.venv/bin/ruff format .`:\n" + result.stdout + result.stderr
