"""Evaluation on a held-out split: accuracy, per-class precision/recall/F1, the confusion matrix, the mistakes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Evaluation:
    images: int
    accuracy: float | None  # None when the split is empty
    per_class: dict[str, dict[str, float | int | None]]  # class -> precision, recall, f1 (None: undefined), support
    confusion_matrix: list[list[int]]  # [true class][predicted class], in class order
    predictions: list[dict]  # per image: file, label, predicted, probability (of the predicted class)

    @property
    def misclassified(self) -> list[dict]:
        return [p for p in self.predictions if p["label"] != p["predicted"]]

    def as_dict(self) -> dict:
        return {"images": self.images, "accuracy": self.accuracy, "per_class": self.per_class,
                "confusion_matrix": self.confusion_matrix, "misclassified": self.misclassified,
                "predictions": self.predictions}


def evaluate(probabilities: np.ndarray, labels: np.ndarray, classes: list[str], files: list[str]) -> Evaluation:
    """Score ``probabilities`` (N, C) against the true class indices ``labels`` (N,).

    Precision is undefined (None) for a class nothing was predicted as, recall for a class with
    no image in the split, F1 when either is.
    """
    n = len(labels)
    predicted = np.argmax(probabilities, axis=-1) if n else np.zeros(0, np.int64)
    matrix = np.zeros((len(classes), len(classes)), np.int64)
    for t, p in zip(labels, predicted):
        matrix[int(t), int(p)] += 1
    per_class = {}
    for i, name in enumerate(classes):
        tp, predicted_as, support = int(matrix[i, i]), int(matrix[:, i].sum()), int(matrix[i, :].sum())
        precision = tp / predicted_as if predicted_as else None
        recall = tp / support if support else None
        f1 = (2 * precision * recall / (precision + recall) if precision + recall else 0.0) \
            if precision is not None and recall is not None else None
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    rows = [{"file": f, "label": classes[int(t)], "predicted": classes[int(p)],
             "probability": round(float(probabilities[k, int(p)]), 6)}
            for k, (f, t, p) in enumerate(zip(files, labels, predicted))]
    accuracy = float(np.mean(predicted == labels)) if n else None
    return Evaluation(n, accuracy, per_class, matrix.tolist(), rows)


def table(evaluation: Evaluation) -> list[str]:
    """The per-class table for the terminal ("performance per tag")."""
    width = max([len("class")] + [len(c) for c in evaluation.per_class])
    lines = [f"{'class':<{width}}  precision  recall     f1  images"]
    for name, m in evaluation.per_class.items():
        cells = [("–" if m[k] is None else f"{m[k]:.0%}") for k in ("precision", "recall", "f1")]
        lines.append(f"{name:<{width}}  {cells[0]:>9}  {cells[1]:>6}  {cells[2]:>5}  {m['support']:>6}")
    return lines
