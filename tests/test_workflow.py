"""The "publish the site" workflow (``.github/workflows/pages.yml``): valid, and it builds with the README's command.

GitHub runs the workflow, not this suite; what can be checked here is that actionlint (a static checker for
GitHub Actions workflows, from PyPI) accepts it, and that it builds with ``make book`` and deploys what that
command writes, so the published site is the one the tests below check.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert exe, "actionlint is missing: it comes with requirements.txt (make test installs it)"
    return subprocess.run([exe, "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=60)


def test_the_pages_workflow_passes_actionlint():
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, f"actionlint rejects {WORKFLOW.name}:\n{result.stdout}{result.stderr}"


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The check above means something: a workflow with an unknown key and a bad expression is refused."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    step:\n      - run: echo ${{ github.nope( }}\n")
    result = actionlint(broken)
    assert result.returncode != 0 and "broken.yml" in result.stdout, result.stdout + result.stderr


def test_the_workflow_builds_with_the_readme_command_and_deploys_its_output():
    flow = yaml.safe_load(WORKFLOW.read_text())
    steps = flow["jobs"]["build"]["steps"]
    assert "make book" in [s.get("run") for s in steps], "the site must be built by the README's command"
    assert "make book" in (ROOT / "README.md").read_text()
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert flow["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages")
