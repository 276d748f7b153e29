"""The training's pictures: written whatever the class names are, without matplotlib's warnings on the output."""

from __future__ import annotations

import warnings

from PIL import Image

from builder.train import plots


def test_class_names_the_font_lacks_give_a_picture_and_no_warning_lines(tmp_path):
    """An emoji or CJK class name has glyphs the bundled font lacks: matplotlib warned once per glyph, and the
    run printed those as its own warnings."""
    classes = ["\U0001F418 elephants", "猫", "a rather long class name for the hoofed mammals of the farm"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        plots.confusion(tmp_path / plots.CONFUSION, [[3, 0, 1], [0, 2, 0], [1, 0, 4]], classes, "test accuracy 75.0%")
        plots.curves(tmp_path / plots.CURVES, [("head", [{"loss": 1.0, "val_loss": 1.2, "accuracy": 0.5,
                                                          "val_accuracy": 0.4}] * 3)])
    for name in (plots.CONFUSION, plots.CURVES):
        with Image.open(tmp_path / name) as picture:
            assert picture.format == "PNG" and min(picture.size) > 200
