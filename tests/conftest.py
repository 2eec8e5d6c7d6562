"""What the tests share: the float64 fixture, and the markers that sort the suite (pyproject.toml).

Markers: ``book`` (reads the built site or its executed notebooks: needs ``make book`` first), ``colab``
(runs in ``.venv-colab``, Colab's packages), ``browser`` (drives headless Chromium), ``slow`` (trains or
compiles for more than a few seconds). ``make unit`` runs the tests without ``book``, ``colab`` and
``browser``; ``make test`` runs them all.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def float64():
    """Tensors default to float64 for the test: two computations that differ only in summation order (a pack
    and its runs alone, say) then agree to about 1e-15 on any CPU's kernels, where float32's rounding, grown
    by a few SGD steps, reaches 1e-4 on some machines (tests/test_packed.py says why)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)
