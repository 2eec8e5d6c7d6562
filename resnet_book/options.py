"""The command line's number types (argparse ``type=``), shared by ``python -m resnet_book`` and its
``imagenet`` subcommand: each refuses a value in one line that names it, before anything runs."""

from __future__ import annotations

import argparse
import math
from typing import Callable

from .recipe import SEEDS


def whole_number(text: str) -> int:
    """``text`` as an int, or an argparse error quoting it (its start only, if it is long)."""
    if len(text) > 100:  # int() refuses more than 4,300 digits, with advice that is not ours
        raise argparse.ArgumentTypeError(f"{text[:30]!r}... ({len(text):,} characters) is too long for any number here")
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def at_least(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``least`` (``--iterations 0``, ``--batch-size -3`` are refused)."""

    def parse(text: str) -> int:
        value = whole_number(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"must be >= {least}, got {value}")
        return value

    parse.__name__ = f"whole number >= {least}"  # what argparse names in its own messages
    return parse


positive_int = at_least(1)  # --iterations, --pack, --concurrent, --steps, --batch-size, ...


def seed(text: str) -> int:
    """An argparse type: a seed ``torch.manual_seed`` takes, any 64-bit number (negatives too)."""
    value = whole_number(text)
    if value not in SEEDS:
        raise argparse.ArgumentTypeError(f"must be from -2^63 to 2^64 - 1 (torch.manual_seed's range), got {value}")
    return value


def minutes(text: str) -> float:
    """An argparse type: a finite number of minutes >= 0 (``nan`` and ``-5`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (0 <= value < math.inf):
        raise argparse.ArgumentTypeError(f"must be a finite number of minutes >= 0, got {text}")
    return value


def learning_rate(text: str) -> float:
    """An argparse type: a finite learning rate > 0 (``nan``, ``inf``, ``0`` and ``-1`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value
