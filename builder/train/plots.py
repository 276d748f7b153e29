"""The training curves and the confusion matrix as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

CURVES = "training-curves.png"
CONFUSION = "confusion-matrix.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    """Write ``fig`` to ``path``, its margins fitted to what it draws, long class names and the title included
    (matplotlib's tight layout, and a picture cropped to its contents where that is not enough: its warning
    then is not the run's). A class name in a script the font lacks (emoji, CJK) shows as boxes in the picture:
    matplotlib's warning per missing glyph is not repeated on the command's output either."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message="Tight layout not applied")
        fig.tight_layout()
        fig.savefig(path, bbox_inches="tight")


def curves(path: Path, stages: list[tuple[str, list[dict[str, float]]]]) -> None:
    """Loss and accuracy per epoch, training and validation, one stage after the other
    (e.g. ``[("head", history), ("fine-tuning", history)]``), stages separated by a dashed line."""
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    epoch = 0
    for name, history in stages:
        xs = list(range(epoch + 1, epoch + len(history) + 1))
        for ax, key, label in ((loss_ax, "loss", "loss"), (acc_ax, "accuracy", "accuracy")):
            ax.plot(xs, [h[key] for h in history], "-o", markersize=3, label=f"{name}: training")
            ax.plot(xs, [h[f"val_{key}"] for h in history], "-s", markersize=3, label=f"{name}: validation")
            if epoch:
                ax.axvline(epoch + 0.5, color="grey", linestyle="--", linewidth=1)
        epoch += len(history)
    loss_ax.set(title="Loss (cross-entropy)", xlabel="epoch", ylabel="loss")
    acc_ax.set(title="Accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)


def confusion(path: Path, matrix: list[list[int]], classes: list[str], title: str) -> None:
    """The confusion matrix: true class down, predicted class across, counts in the cells."""
    plt = _pyplot()
    n = len(classes)
    size = max(4.0, 0.6 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    top = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center", color="white" if count > top / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    _save(fig, path)
    plt.close(fig)
