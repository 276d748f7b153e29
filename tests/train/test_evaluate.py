"""The held-out figures from hand-made probabilities whose answers are known."""

import numpy as np
import pytest

from builder.train.evaluate import accuracy_interval, evaluate

CLASSES = ["cat", "dog", "fox"]


def test_figures_of_a_known_confusion():
    # True classes: cat, cat, cat, dog, dog; predicted: cat, cat, dog, dog, cat. Nothing is a fox, or predicted one.
    labels = np.array([0, 0, 0, 1, 1])
    probabilities = np.array([[0.9, 0.1, 0.0], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.5, 0.4, 0.1]])
    files = [f"{i}.jpg" for i in range(5)]
    result = evaluate(probabilities, labels, CLASSES, files)
    assert result.images == 5 and result.accuracy == pytest.approx(3 / 5)
    assert result.confusion_matrix == [[2, 1, 0], [1, 1, 0], [0, 0, 0]]
    cat, dog, fox = (result.per_class[c] for c in CLASSES)
    assert (cat["precision"], cat["recall"], cat["support"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert cat["f1"] == pytest.approx(2 / 3)
    assert (dog["precision"], dog["recall"], dog["support"]) == (0.5, 0.5, 2) and dog["f1"] == pytest.approx(0.5)
    # No fox in the split and none predicted: precision, recall and F1 are undefined, not 0.
    assert fox == {"precision": None, "recall": None, "f1": None, "support": 0}
    assert [(m["file"], m["label"], m["predicted"]) for m in result.misclassified] == [
        ("2.jpg", "cat", "dog"), ("4.jpg", "dog", "cat")]
    assert result.predictions[4]["probability"] == 0.5  # of the predicted class
    # 3 right of 5: the Wilson 95% interval is 23.1% to 88.2% (z = 1.96): 5 photos say little.
    assert result.accuracy_95ci == pytest.approx((0.2307, 0.8824), abs=1e-4)
    assert result.as_dict()["accuracy_95ci"] == list(result.accuracy_95ci)  # as JSON keeps it


def test_the_accuracy_interval_narrows_with_more_test_photos_and_stays_inside_0_to_1():
    small, large = accuracy_interval(3, 5), accuracy_interval(300, 500)
    assert small[0] < large[0] < 0.6 < large[1] < small[1] and large[1] - large[0] < 0.09
    assert accuracy_interval(0, 7)[0] == 0.0 and accuracy_interval(7, 7)[1] == 1.0
    assert accuracy_interval(7, 7)[0] == pytest.approx(0.6457, abs=1e-4)  # all 7 right: still maybe 65%


def test_a_class_predicted_and_present_but_never_right_has_an_f1_of_zero():
    # A cat taken for a dog and a dog for a cat; and dogs predicted where there are none gives no recall.
    result = evaluate(np.array([[0.2, 0.8, 0.0], [0.9, 0.1, 0.0]]), np.array([0, 1]), CLASSES, ["a", "b"])
    assert result.accuracy == 0.0
    assert result.per_class["cat"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    only_predicted = evaluate(np.array([[0.2, 0.8, 0.0]]), np.array([0]), CLASSES, ["a"])
    assert only_predicted.per_class["dog"] == {"precision": 0.0, "recall": None, "f1": None, "support": 0}


def test_an_empty_split_has_no_accuracy():
    result = evaluate(np.zeros((0, 3)), np.zeros(0, np.int64), CLASSES, [])
    assert result.images == 0 and result.accuracy is None and result.misclassified == []
    assert result.accuracy_95ci is None
    assert result.confusion_matrix == [[0] * 3] * 3
