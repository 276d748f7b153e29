"""Class labels: a user file (one per line, or a JSON list) or the ImageNet labels we ship."""

from __future__ import annotations

import json
import re
from pathlib import Path

from builder.errors import LabelsError

IMAGENET = Path(__file__).with_name("data") / "imagenet_labels.txt"
IMAGENET_CLASSES = 1000


def read(path: Path) -> list[str]:
    """Read a labels file: a JSON list of strings, or one label per line (blank lines ignored).

    A ``.json`` file must be a JSON list of strings. Any other file is a JSON list if it parses as one,
    else one label per line: a first label such as ``[background]`` is a label, not broken JSON."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LabelsError(f"{path}: labels file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise LabelsError(f"{path}: cannot read labels ({e})") from e
    labels = _json_list(path, text)
    if labels is None:
        labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise LabelsError(f"{path}: no labels found")
    if any(not x for x in labels):
        raise LabelsError(f"{path}: empty label at position {labels.index('') + 1}")
    unseen = [i for i, x in enumerate(labels, 1) if not comparable(x)]
    if unseen:  # a zero-width space copied from a web page: the page would show a class with no name
        raise LabelsError(f"{path}: label {unseen[0]} shows nothing (only invisible characters, "
                          f"{labels[unseen[0] - 1]!a}); name the class, or remove the line")
    return labels


def _json_list(path: Path, text: str) -> list[str] | None:
    """The labels of a JSON list, or None where the file is one label per line."""
    is_json = path.suffix.lower() == ".json"
    if not is_json and not text.lstrip().startswith(("[", "{")):
        return None
    try:
        labels = json.loads(text)
    except ValueError as e:
        if not is_json:
            return None
        raise LabelsError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise LabelsError(f"{path}: a JSON labels file must be a list of strings")
    return [x.strip() for x in labels]


def comparable(label: str) -> str:
    """What a person reads in ``label``: without case, Unicode form, invisible characters (soft hyphen, zero-width
    space: Unicode's format characters) or the width of spacing ("Birds", "birds ", "ｂｉｒｄｓ", "bir\u00addS",
    and "hoofed  mammals" beside "hoofed mammals" read alike)."""
    import unicodedata

    text = unicodedata.normalize("NFKC", label)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.casefold().split())


def repeated(labels: list[str]) -> dict[str, list[int]]:
    """Labels that name more than one class -> their positions (1-based). The page tells classes apart by
    index, so this is allowed (ImageNet's own list has two 'crane's and two 'maillot's), but in a user's
    file it is usually a slip that shows two classes alike."""
    positions: dict[str, list[int]] = {}
    for i, label in enumerate(labels, 1):
        positions.setdefault(label, []).append(i)
    return {label: where for label, where in positions.items() if len(where) > 1}


def imagenet() -> list[str]:
    return read(IMAGENET)


def resolve(path: Path | None, num_outputs: int, where: str) -> tuple[list[str], str]:
    """Labels for a model with ``num_outputs`` classes; returns ``(labels, source description)``."""
    if path is None:
        if num_outputs != IMAGENET_CLASSES:
            raise LabelsError(f"{where}: the model has {num_outputs} classes, so the ImageNet labels "
                              f"({IMAGENET_CLASSES}) do not apply; pass --labels FILE with {num_outputs} labels")
        return imagenet(), "imagenet"
    labels = read(path)
    check_count(labels, path, num_outputs, where)
    return labels, str(path)


def check_count(labels: list[str], path: Path, num_outputs: int, where: str) -> None:
    """The labels must name every class of the model (``num_outputs``: 2 for a one-unit sigmoid or logit head),
    no more and no fewer."""
    if len(labels) != num_outputs:
        raise LabelsError(f"{path}: {len(labels)} labels, but {where} has {num_outputs} classes{_blank_hint(path)}")


def _blank_hint(path: Path) -> str:
    """Where a one-per-line file has blank lines between labels (skipped, so they are not classes), or
    looks like JSON but is not (so it was read one label per line)."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if not filled:
        return ""
    if lines[filled[0]].lstrip().startswith(("[", "{")) and _json_list(path, "\n".join(lines)) is None:
        return " (read one label per line: it is not a valid JSON list)"
    blank = [i + 1 for i in range(filled[0], filled[-1]) if not lines[i].strip()]
    if not blank:
        return ""
    where = ", ".join(map(str, blank[:5])) + (" …" if len(blank) > 5 else "")
    return f" (blank lines are skipped, not read as labels: line {where})"


_NUMBERED = re.compile(r"^(\d+)\s+(\S.*)$")


def numbered(labels: list[str]) -> bool:
    """Whether every label is ``"<i> <name>"`` with i = 0, 1, ..., N-1 in order: Teachable Machine's
    ``labels.txt`` (``0 Class 1``). Any other file is left exactly as written."""
    matches = [_NUMBERED.match(label) for label in labels]
    return bool(labels) and all(m is not None and int(m.group(1)) == i and m.group(1) == str(i)
                                for i, m in enumerate(matches))


def without_numbers(labels: list[str]) -> list[str]:
    """The names of :func:`numbered` labels (``"0 Class 1"`` → ``"Class 1"``)."""
    return [_NUMBERED.match(label).group(2).strip() for label in labels]
