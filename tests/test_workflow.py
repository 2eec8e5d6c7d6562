"""The GitHub workflows: valid, and each runs the README's command.

``pages.yml`` publishes the site: it must build with ``make book`` and deploy what that command writes, so
the published site is the one the site tests check. ``test.yml`` tests every push and pull request: it must
run ``make test`` where the browser tests can pass (Debian's chromium, Python 3.11 and Colab's 3.13).

GitHub runs the workflows, not this suite; what can be checked here is that actionlint (a static checker for
GitHub Actions workflows, from PyPI) accepts them, and that they run what the README says.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "pages.yml"
TESTS = WORKFLOWS / "test.yml"


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert exe, "actionlint is missing: it comes with requirements.txt (make test installs it)"
    return subprocess.run([exe, "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS.glob("*.y*ml")), ids=lambda p: p.name)
def test_the_workflow_passes_actionlint(workflow: Path):
    result = actionlint(workflow)
    assert result.returncode == 0, f"actionlint rejects {workflow.name}:\n{result.stdout}{result.stderr}"


def test_both_workflows_are_there():
    assert {p.name for p in WORKFLOWS.glob("*.y*ml")} >= {"pages.yml", "test.yml"}


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


def triggers(flow: dict) -> dict:
    """The ``on:`` block (PyYAML reads the bare key ``on`` as the boolean True)."""
    on = flow.get("on", flow.get(True))
    return {on: None} if isinstance(on, str) else dict.fromkeys(on) if isinstance(on, list) else on


def test_the_test_workflow_runs_the_readme_command_on_every_push_and_pull_request():
    flow = yaml.safe_load(TESTS.read_text())
    on = triggers(flow)
    for event in ("push", "pull_request"):
        assert event in on, f"{TESTS.name} does not run on {event}"
        assert not (on[event] or {}).get("branches") and not (on[event] or {}).get("paths"), f"{event} is filtered: {on[event]}"
    (job,) = flow["jobs"].values()
    runs = [s.get("run", "").strip() for s in job["steps"]]
    assert "make test" in runs, f"{TESTS.name} must run the README's test command, as written; its steps run {runs}"
    assert "make test" in (ROOT / "README.md").read_text()
    assert not job.get("continue-on-error") and not any(s.get("continue-on-error") for s in job["steps"])


def test_the_test_workflow_has_what_make_test_needs():
    """Debian's chromium at /usr/bin/chromium (tests/test_site.py), Python 3.11 for .venv and Colab's 3.13 for
    .venv-colab (the Makefile's PYTHON and COLAB_PYTHON), and a pip cache keyed on the pinned requirements."""
    flow = yaml.safe_load(TESTS.read_text())
    (job,) = flow["jobs"].values()
    image = re.fullmatch(r"python:(3\.1[13])(?:\.\d+)?-(bookworm|trixie)", job["container"]["image"])
    assert image, f"not Docker's Python 3.11 or 3.13 on Debian: {job['container']['image']}"
    env = job["env"]
    assert env["PYTHON"].endswith("/python3.11") and env["COLAB_PYTHON"].endswith("/python3.13"), env
    other = {"3.11": "3.13", "3.13": "3.11"}[image.group(1)]  # the Python the image lacks comes from Debian
    script = "\n".join(s.get("run", "") for s in job["steps"])
    assert re.search(rf"apt-get install .*\bpython{re.escape(other)}-venv\b", script), script
    assert re.search(r"apt-get install .*\bchromium\b", script), "Debian's chromium is not installed"
    caches = [s["with"] for s in job["steps"] if str(s.get("uses", "")).startswith("actions/cache")]
    pip = next((c for c in caches if c["path"] == "~/.cache/pip"), None)
    assert pip, f"no pip cache among {caches}"
    for pinned in ("requirements.txt", "tests/colab-requirements.txt"):
        assert pinned in pip["key"], f"the pip cache is not renewed when {pinned} changes: {pip['key']}"
