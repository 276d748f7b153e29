"""Near-duplicate detection: photos that are the same picture in other bytes (re-encoded, resized, re-tagged),
which the content-hash split cannot see. One in training and its copy in test makes the test accuracy count a
photo as unseen that training saw; copies in two classes give one picture two labels.

They are found by their base features, which training computes anyway: a copy's features point the same way
as the original's (cosine similarity 0.996 or more for a JPEG saved again at quality 90, on the demo base),
while distinct photos of one class stay far below (at most 0.65 on the 41 test photos).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

THRESHOLD = 0.98  # cosine similarity of base features from which two photos count as one picture
BLOCK = 1024  # rows of the similarity matrix computed at once (memory: BLOCK x photos floats)


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
    the first photo's path."""
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
    return sorted(found, key=lambda d: d.photos)


def warnings_for(found: list[NearDuplicate]) -> list[str]:
    """The lines that say what ``found`` means for the figures: a copy across the test split first."""
    lines = []
    shown = 3

    def listed(pairs: list[NearDuplicate]) -> str:
        more = f" and {len(pairs) - shown} more" if len(pairs) > shown else ""
        return ", ".join(f"{d.photos[0]} ~ {d.photos[1]}" for d in pairs[:shown]) + more

    across_test = [d for d in found if "test" in d.splits and d.splits[0] != d.splits[1]]
    if across_test:
        tested = {d.photos[k] for d in across_test for k in (0, 1) if d.splits[k] == "test"}
        lines.append(f"warning: {len(tested)} test photo(s) have a near-copy (the same picture re-encoded, "
                     f"resized or re-tagged) in another split: {listed(across_test)}; the test accuracy counts "
                     "them as unseen, so it is optimistic: remove the copies (train-report.json lists them)")
    two_classes = [d for d in found if d.classes[0] != d.classes[1]]
    if two_classes:
        lines.append(f"warning: {len(two_classes)} picture(s) are in two classes as near-copies: "
                     f"{listed(two_classes)}; one of each pair has the wrong label")
    other = [d for d in found if d not in across_test and d not in two_classes]
    if other:
        lines.append(f"note: {len(other)} photo(s) have a near-copy in the other of training and validation: "
                     f"{listed(other)}; early stopping sees them as unseen")
    return lines
