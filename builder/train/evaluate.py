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

    @property
    def accuracy_95ci(self) -> tuple[float, float] | None:
        """The accuracy's 95% confidence interval (:func:`accuracy_interval`); None when the split is empty."""
        if not self.images:
            return None
        return accuracy_interval(sum(p["label"] == p["predicted"] for p in self.predictions), self.images)

    def as_dict(self) -> dict:
        return {"images": self.images, "accuracy": self.accuracy, "accuracy_95ci": list(self.accuracy_95ci or ()) or None,
                "per_class": self.per_class,
                "confusion_matrix": self.confusion_matrix, "misclassified": self.misclassified,
                "predictions": self.predictions}


def accuracy_interval(correct: int, images: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of ``correct`` right out of ``images`` (> 0), as fractions
    (low, high), through :func:`scipy.stats.binomtest`: an interval that, computed on each of many such test
    splits, contains the true accuracy about ``confidence`` of the time (the photos taken as independent
    draws: bursts of one scene make it narrower than it should be). On 7 photos, 5 right (71%) spans 36% to
    92%: a small test split measures little, which the figure alone does not say."""
    from scipy.stats import binomtest

    interval = binomtest(int(correct), int(images)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


# How a test photo can have been seen in training, said wherever a test accuracy is marked optimistic (the page's
# model card says it too, in templates/js/model-card.js).
SEEN_IN_TRAINING = "(a near-copy in training or validation, or a photo that trained the base)"


def accuracy_text(accuracy: float | None, interval=None, missing: str = "not measured") -> str:
    """An accuracy with its 95% confidence interval, "71.4% (95% CI 36–92%)"; ``missing`` for None (no test
    photos); the accuracy alone for a report written before the interval was recorded."""
    if accuracy is None:
        return missing
    if not interval:
        return f"{accuracy:.1%}"
    low, high = interval
    return f"{accuracy:.1%} (95% CI {low * 100:.0f}–{high * 100:.0f}%)"


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
