"""What every record of the package shares: one way to write a schema, read a file, write one, check a folder.

Two modules hold records, each a JSON file checked whenever it is read (a page never shows what it could
not check): ``runs`` (run records, ``resnet_book.run/1``: a CIFAR-10 run, or an ImageNet run of
``resnet_book.imagenet``, whose ``family`` is ``"imagenet"``) and ``benchmarks`` (the trainer's speed,
``resnet_book.benchmark/1``). Each names its schema in a ``Kind`` and writes its fields as a *spec*:

* a check: a function of the value that returns what is wrong with it, or None (``finite``, ``whole``,
  ``fraction``, ``kind``, ``ANY``);
* ``[spec]``: a non-empty list whose items each meet ``spec``;
* ``(spec, spec, ...)``: a list of exactly that many items, each meeting its own;
* ``{field: spec}``: an object; ``"name"`` is required, ``"name?"`` optional, ``"*"`` any other key (an
  object without ``"*"`` refuses a key it does not name: a misspelt key would read as "not measured").

``Kind.check`` walks a spec and raises the kind's error naming the file and the dotted field
(``history[3].train_error``); ``Kind.read`` is the one reader (UTF-8 JSON without NaN or Infinity, then
the kind's ``validate``); ``write_json`` and ``write_atomically`` the one writer; ``check_writable`` the
check, made before hours of work, that a folder takes files.
"""

from __future__ import annotations

import errno
import glob
import json
import math
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

Check = Callable[[Any], "str | None"]


class RecordError(ValueError):
    """A record breaks its schema; the message names the file and the field."""


# ------------------------------------------------------------------------------------------ the checks


def finite(low: float | None = None, strict: bool = False, text_hint: str = "") -> Check:
    """A finite number (not a bool), above ``low`` (``strict``) or at least ``low``; ``text_hint`` is added
    when the value is a string (a benchmark's failed measurement is named apart, never stored as text)."""

    def check(value: Any) -> str | None:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        if ok and (low is None or (value > low if strict else value >= low)):
            return None
        bound = "" if low is None else f" {'>' if strict else '>='} {low}"
        return f"must be a finite number{bound}, got {value!r}{text_hint if isinstance(value, str) else ''}"

    return check


def whole(least: int = 1) -> Check:
    """A whole number (not a bool) of at least ``least``."""

    def check(value: Any) -> str | None:
        ok = not isinstance(value, bool) and isinstance(value, int) and value >= least
        return None if ok else f"must be a whole number >= {least}, got {value!r}"

    return check


def fraction(value: Any) -> str | None:
    """An error rate: a number in [0, 1]."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and 0.0 <= value <= 1.0
    return None if ok else f"must be a fraction in [0, 1], got {value!r}"


def kind(of: type) -> Check:
    """A value of type ``of`` (a bool is not an int here)."""

    def check(value: Any) -> str | None:
        ok = isinstance(value, of) and (of is bool or not isinstance(value, bool))
        return None if ok else f"must be {of.__name__}, got {value!r:.80}"

    return check


def ANY(value: Any) -> None:
    """Any value: a field whose presence alone is required, or the open rest of an object (``"*": ANY``)."""
    return None


def _no_constant(name: str) -> None:
    """``json`` reads NaN and Infinity, which JSON does not have; a record never holds them."""
    raise ValueError(f"{name} is not a JSON number")


# ------------------------------------------------------------------------------------------ a kind


@dataclass(frozen=True)
class Kind:
    """One kind of record: its schema id, what a reader calls it, its error, and what to do with a broken file."""

    schema: str  # "resnet_book.run/1"
    what: str  # "run record"
    error: type[RecordError]
    restore: str  # appended to a broken file's message: "; restore the file (git checkout -- data/runs) or remove it"

    def fail(self, where: str, field: str, problem: str) -> RecordError:
        return self.error(f"{where}: field '{field}' {problem}")

    def check(self, spec: Any, value: Any, where: str, field: str = "") -> None:
        """``value`` against ``spec`` (the module's docstring); the first problem raises, naming ``field``."""
        if isinstance(spec, list):
            if not isinstance(value, list) or not value:
                raise self.fail(where, field, f"must be a non-empty list, got {value!r:.80}")
            for i, item in enumerate(value):
                self.check(spec[0], item, where, f"{field}[{i}]")
        elif isinstance(spec, tuple):
            if not isinstance(value, list) or len(value) != len(spec):
                raise self.fail(where, field, f"must be a list of {len(spec)} items, got {value!r:.80}")
            for i, (item_spec, item) in enumerate(zip(spec, value)):
                self.check(item_spec, item, where, f"{field}[{i}]")
        elif isinstance(spec, dict):
            if not isinstance(value, dict):
                if not field:
                    raise self.error(f"{where}: a {self.what} must be a JSON object, got {type(value).__name__}")
                raise self.fail(where, field, f"must be an object, got {value!r:.80}")
            fields = {k.rstrip("?"): k for k in spec}
            for key, item in value.items():
                name = f"{field}.{key}" if field else key
                if key not in fields and "*" not in spec:
                    shown = ", ".join(k for k in fields if k != "*")
                    raise self.fail(where, name, f"is not a field of {self.schema} (its fields here: {shown})")
                self.check(spec[fields.get(key, "*")], item, where, name)
            for key in spec:
                if key != "*" and not key.endswith("?") and key not in value:
                    raise self.fail(where, f"{field}.{key}" if field else key, "is missing")
        elif (problem := spec(value)) is not None:
            raise self.fail(where, field, problem)

    def check_finite(self, value: Any, where: str, field: str = "") -> None:
        """Every number anywhere in ``value`` is finite (``json`` reads ``1e999`` as infinity), in the
        fields a spec leaves open too."""
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(where, field, f"must be a finite number, got {value!r}")
        if isinstance(value, dict):
            for key, item in value.items():
                self.check_finite(item, where, f"{field}.{key}" if field else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.check_finite(item, where, f"{field}[{i}]")

    def read(self, path: Path, validate: Callable[[Any, str], Any]) -> Any:
        """The record in ``path`` (UTF-8 JSON, no NaN or Infinity), checked by ``validate(record, where)``;
        a file that cannot be read, decoded or parsed, or that breaks the schema, raises naming it."""
        try:
            record = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError as err:
            raise self.error(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}){self.restore}") from None
        except ValueError as err:  # json.JSONDecodeError, or NaN / Infinity
            raise self.error(f"{path}: not valid JSON ({err}){self.restore}") from None
        except OSError as err:
            raise self.error(f"{path}: cannot be read ({err.strerror})") from None
        try:
            validate(record, str(path))
        except self.error as err:
            raise self.error(f"{err}{self.restore}") from None
        return record


# ------------------------------------------------------------------------------------------ writing


def check_writable(folder: str | Path, what: str) -> Path:
    """Create ``folder`` if needed and write a file into it, so a run learns before training, not at its
    first save hours later, that its records or checkpoints cannot be written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise OSError(f"{folder}: the {what} folder is not writable ({err.strerror}); choose another one") from None
    return folder


class DiskFull(OSError):
    """A file could not be written for want of space (``ENOSPC``, or a quota's ``EDQUOT``); the message names the
    file, the space left, and what was kept."""


def temporary_name(path: Path) -> Path:
    """The temporary file ``write_atomically`` writes before renaming it to ``path``: a name of its own per
    writer, ``.<name>.<pid>-<12 hex>.tmp`` beside it."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def remove_orphans(path: Path) -> list[Path]:
    """Remove the temporary files of saves of ``path`` that never finished (a process killed with ``kill -9``
    while writing), saying so. Call it only while no other process may be writing ``path`` (its run's lock)."""
    found = sorted(Path(p) for p in glob.glob(str(path.with_name(f".{glob.escape(path.name)}.*-*.tmp"))))
    for tmp in found:
        tmp.unlink(missing_ok=True)
        print(f"{tmp}: removed, the temporary file of a save of {path.name} that never finished", flush=True)
    return found


def size_text(n: int) -> str:
    """``'0 bytes'``, ``'812 KB'``, ``'3.4 GB'``: a size as a reader says it (powers of 1000)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 100 * size else f"{n / size:.0f} {unit}"
    return f"{n} bytes"


def write_atomically(path: Path, write: Callable[[Path], None], kept: str | None = None) -> None:
    """``write(tmp)`` into a temporary file of its own beside ``path``, then rename it to ``path``: a reader
    sees the old file or the new one, never half of one, and two writers never share a temporary name.

    A full disk raises ``DiskFull`` naming ``path`` and the space left, the temporary file removed and the
    earlier file kept (``kept`` says what that means for the reader)."""
    # a name of its own, created with the file's usual mode (mkstemp's 0600 would hide records from others)
    tmp = temporary_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        free = size_text(shutil.disk_usage(path.parent).free)
        earlier = (kept or f"the earlier {path.name} is kept") if path.exists() else "nothing was written in its place"
        raise DiskFull(
            f"{path}: no space left to write it ({free} free in {path.parent}); {earlier}; free some space, then "
            "run the same command again"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, record: dict) -> Path:
    """``record`` as the package writes every record (indented, UTF-8, no NaN: JSON has none), atomically."""
    text = json.dumps(record, indent=1, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
