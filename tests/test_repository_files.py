"""What a reader who reuses, cites or forks the book finds beside it: the licences, the citation, the guide
for contributors, each linked from the README and agreeing with the package's metadata and the site.

The book reproduces He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
pp. 770-778: the citation file and the README's BibTeX must name the same paper.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CITATION = yaml.safe_load((ROOT / "CITATION.cff").read_text())
PAPER = {
    "title": "Deep Residual Learning for Image Recognition",
    "authors": ["He", "Zhang", "Ren", "Sun"],
    "year": 2016,
    "pages": (770, 778),
    "doi": "10.1109/CVPR.2016.90",
}
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


@pytest.mark.parametrize("name", ["LICENSE", "LICENSE-CC-BY-4.0.txt", "CITATION.cff", "CONTRIBUTING.md"])
def test_the_readme_links_each_file_and_it_is_there(name: str):
    assert f"]({name})" in README, f"the README does not link {name}"
    assert (ROOT / name).is_file() and (ROOT / name).stat().st_size > 0, f"{name} is missing or empty"


def test_the_code_is_mit_as_pyproject_declares():
    text = (ROOT / "LICENSE").read_text()
    assert PROJECT["license"] == "MIT"
    assert text.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in text
    assert re.search(r"^Copyright \(c\) \d{4} \S", text, re.M), "the MIT licence names no copyright holder"


def test_the_text_licence_is_cc_by_4_and_named_where_readers_look():
    legal = (ROOT / "LICENSE-CC-BY-4.0.txt").read_text()
    assert legal.startswith("Creative Commons Attribution 4.0 International")
    assert "Section 8 – Interpretation." in legal, "the legal code is cut short"
    assert f"[CC BY 4.0]({CC_BY})" in README
    footer = CONFIG["html"]["extra_footer"]  # every page of the site (tests/test_site.py checks the built pages)
    assert f'href="{CC_BY}">CC BY 4.0</a>' in footer and "MIT License" in footer, footer


def test_the_citation_file_describes_this_book():
    assert CITATION["cff-version"] == "1.2.0"
    assert CITATION["title"] == CONFIG["title"]
    assert str(CITATION["version"]) == PROJECT["version"], "bump CITATION.cff's version with pyproject.toml's"
    assert set(CITATION["license"]) == {"MIT", "CC-BY-4.0"}
    assert CITATION["repository-code"] == CONFIG["repository"]["url"]
    assert all(a.get("name") or a.get("family-names") for a in CITATION["authors"])


def test_the_citation_file_and_the_readme_bibtex_name_the_paper():
    (paper,) = [r for r in CITATION["references"] if r["title"] == PAPER["title"]]
    assert [a["family-names"] for a in paper["authors"]] == PAPER["authors"]
    assert (paper["year"], (paper["start"], paper["end"]), paper["doi"]) == (PAPER["year"], PAPER["pages"], PAPER["doi"])
    bib = re.search(r"```bibtex\n(@inproceedings\{.*?\n\})\n```", README, re.S)
    assert bib, "the README has no BibTeX entry of the paper"
    fields = dict(re.findall(r"^\s*(\w+)\s*=\s*\{(.*)\},?$", bib.group(1), re.M))
    assert fields["title"] == PAPER["title"]
    assert [name.split(",")[0].strip() for name in fields["author"].split(" and ")] == PAPER["authors"]
    assert (int(fields["year"]), fields["pages"], fields["doi"]) == (PAPER["year"], "770--778", PAPER["doi"])
    assert "CVPR" in fields["booktitle"]
