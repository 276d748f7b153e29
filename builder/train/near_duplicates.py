"""Near-duplicate detection: photos that are the same picture in other bytes (re-encoded, resized, re-tagged),
which the content-hash split cannot see. One in training or validation (which chooses the epoch training stops at,
and calibrates --quantize auto) and its copy in test make the test accuracy count a photo as unseen that training
saw; copies in two classes give one picture two labels.

They are found by their base features, which training computes anyway: a copy's features point the same way
as the original's, while distinct photos stay far below (at most 0.65 between the 41 test photos, on the demo
base). Measured on copies of those photos: 0.996 and up for a JPEG saved again at quality 90, 0.973 at quality
85, 0.960 resized to 80%, 0.938 15% brighter; 0.88-0.96 (median 0.92) with 5% cropped off each side, and the
same mirrored, so 36 of the 41 such copies are found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

THRESHOLD = 0.90  # cosine similarity of base features from which two photos count as one picture
BLOCK = 1024  # rows of the similarity matrix computed at once (memory: BLOCK x photos floats)
MAX_PAIRS = 1000  # pairs kept (a folder of near-identical frames could hold millions); the rest are counted


@dataclass(frozen=True)
class NearDuplicate:
    """Two photos that are one picture, kept apart by the split or by their classes."""

    photos: tuple[str, str]  # paths relative to the photo folder
    splits: tuple[str, str]  # "train", "validation", "test"
    classes: tuple[str, str]
    cosine: float

    def as_dict(self) -> dict:
        return {"photos": list(self.photos), "splits": list(self.splits), "classes": list(self.classes),
                "cosine": round(self.cosine, 4)}


def find(features: np.ndarray, paths: list[Path], splits: list[str], classes: list[str],
         threshold: float = THRESHOLD) -> list[NearDuplicate]:
    """The pairs among ``features`` (N, D), the base features of the photos at ``paths`` (N, relative to the
    photo folder) in ``splits`` and ``classes`` (N each), whose cosine similarity is ``threshold`` or more and
    which lie in two splits or two classes (copies within one split and class change no figure). Sorted by
    the first photo's path; :data:`MAX_PAIRS` at most. Meaningful for a pretrained base only: a random one's
    features point alike for every photo."""
    x = np.asarray(features, np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    found = []
    for start in range(0, len(x), BLOCK):
        sims = x[start:start + BLOCK] @ x[start:].T  # each row against itself and every later photo
        rows, cols = np.nonzero(np.triu(sims, k=1) >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i, j = start + r, start + c
            if splits[i] != splits[j] or classes[i] != classes[j]:
                found.append(NearDuplicate((paths[i].as_posix(), paths[j].as_posix()), (splits[i], splits[j]),
                                           (classes[i], classes[j]), float(sims[r, c])))
            if len(found) >= MAX_PAIRS:
                return sorted(found, key=lambda d: d.photos)
    return sorted(found, key=lambda d: d.photos)


def _crosses_test(splits) -> bool:
    """Whether a pair in ``splits`` is a test photo and its copy in training or validation."""
    return "test" in splits and len(set(splits)) == 2


def seen_in_training(found: list[NearDuplicate] | list[dict]) -> dict[str, list[str]]:
    """Each test photo with a near-copy in training or validation -> those copies (from :func:`find`'s pairs, or
    their :meth:`NearDuplicate.as_dict` records in train-report.json): the test photos whose figure is optimistic,
    and the training and validation photos that must not calibrate a test of the stored weights."""
    seen: dict[str, list[str]] = {}
    for d in found:
        photos, splits = (d.photos, d.splits) if isinstance(d, NearDuplicate) else (d["photos"], d["splits"])
        if _crosses_test(splits):
            test = 0 if splits[0] == "test" else 1
            seen.setdefault(photos[test], []).append(photos[1 - test])
    return seen


def warnings_for(found: list[NearDuplicate]) -> list[str]:
    """The lines that say what ``found`` means for the figures: a copy across the test split first."""
    lines = []
    shown = 3

    def listed(pairs: list[NearDuplicate]) -> str:
        more = f" and {len(pairs) - shown} more pairs" if len(pairs) > shown else ""
        return ", ".join(f"{d.photos[0]} ~ {d.photos[1]}" for d in pairs[:shown]) + more

    def photos_in(pairs: list[NearDuplicate], split: str | None = None) -> int:
        return len({d.photos[k] for d in pairs for k in (0, 1) if split is None or d.splits[k] == split})

    two_classes = [d for d in found if d.classes[0] != d.classes[1]]
    trained_and_tested = [d for d in found if _crosses_test(d.splits) and d.classes[0] == d.classes[1]]
    said = set(two_classes) | set(trained_and_tested)
    other = [d for d in found if d not in said]
    if trained_and_tested:
        lines.append(f"warning: {photos_in(trained_and_tested, 'test')} test photo(s) have a near-copy (the same "
                     f"picture saved again, resized, cropped or re-tagged) in training or validation: "
                     f"{listed(trained_and_tested)}; the test "
                     "accuracy counts them as unseen, so it is optimistic: remove the copies (train-report.json "
                     "lists them)")
    if two_classes:
        lines.append(f"warning: {photos_in(two_classes)} photo(s) are near-copies in two classes: "
                     f"{listed(two_classes)}; one of each pair has the wrong label")
    if other:
        lines.append(f"note: {photos_in(other)} photo(s) are near-copies in training and validation: {listed(other)}; "
                     "validation (early stopping) counts them as unseen")
    return lines
