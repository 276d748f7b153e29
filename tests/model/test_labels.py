import pytest

from builder.model import labels
from builder.errors import LabelsError


def test_text_file_one_per_line(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("\ufeffcat\r\ndog \n\n  fox\n")
    assert labels.read(path) == ["cat", "dog", "fox"]


def test_json_list(tmp_path):
    path = tmp_path / "l.json"
    path.write_text('["a b", "<b>c</b>"]')
    assert labels.read(path) == ["a b", "<b>c</b>"]


@pytest.mark.parametrize("content, message", [
    ('{"a": 1}', "list of strings"),
    ("[1, 2]", "list of strings"),
    ("\n\n", "no labels"),
    ('["a", " "]', "empty label at position 2"),
    # A zero-width space copied from a web page: a class the page would show without a name.
    ("cat\n\u200b\ndog\n", r"label 2 shows nothing \(only invisible characters, '\\u200b'\); name the class"),
])
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "l.txt"
    path.write_text(content)
    with pytest.raises(LabelsError, match=message):
        labels.read(path)


def test_a_json_file_must_be_json(tmp_path):
    path = tmp_path / "l.json"
    path.write_text("[broken")
    with pytest.raises(LabelsError, match="not valid JSON"):
        labels.read(path)


def test_a_text_file_whose_first_label_has_brackets_is_one_label_per_line(tmp_path):
    """`browsernet train` writes a class folder named "[background]" (sorted first) as the first line."""
    path = tmp_path / "labels.txt"
    path.write_text("[background]\ncat\n{dog}\n")
    assert labels.read(path) == ["[background]", "cat", "{dog}"]
    # Broken JSON in a .txt is read one per line too; a count mismatch then says so.
    path.write_text('["cat", "dog",]\n')
    with pytest.raises(LabelsError, match=r"1 labels, but m has 2 classes \(read one label per line: it is not a "
                                          r"valid JSON list\)$"):
        labels.resolve(path, 2, "m")


def test_missing_file(tmp_path):
    with pytest.raises(LabelsError, match="labels file not found"):
        labels.read(tmp_path / "nope.txt")


def test_imagenet_labels_ship_with_the_project():
    names = labels.imagenet()
    assert len(names) == 1000
    assert names[0] == "tench" and names[1] == "goldfish" and names[207] == "golden retriever"


def test_resolve_names_both_counts(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("a\nb\nc\n")
    with pytest.raises(LabelsError, match=r"3 labels, but model.h5 has 19 classes"):
        labels.resolve(path, 19, "model.h5")
    with pytest.raises(LabelsError, match="19 classes.*pass --labels"):
        labels.resolve(None, 19, "model.h5")
    assert labels.resolve(None, 1000, "x")[1] == "imagenet"


def test_a_count_mismatch_points_at_blank_lines_between_labels(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("a\n\nc\n\n")  # the user meant three classes, the middle one unnamed
    with pytest.raises(LabelsError, match=r"2 labels, but m has 3 classes \(blank lines are skipped.*line 2\)$"):
        labels.resolve(path, 3, "m")


def test_teachable_machine_numbers_are_removed():
    tm = ["0 Class 1", "1 Class 2", "2 my dog"]
    assert labels.numbered(tm)
    assert labels.without_numbers(tm) == ["Class 1", "Class 2", "my dog"]


@pytest.mark.parametrize("written", [
    ["1 apple", "2 pear"],  # numbered from 1: not Teachable Machine's
    ["0 a", "2 b"],  # out of order
    ["0 a", "b"],  # not every line
    ["00 a", "01 b"],
    ["0", "1"],
])
def test_other_label_files_are_left_as_written(written):
    assert not labels.numbered(written)


def test_repeated_labels_are_found_with_their_positions(tmp_path):
    assert labels.repeated(labels.imagenet()) == {"crane": [135, 518], "maillot": [639, 640]}
    path = tmp_path / "l.txt"
    path.write_text("cat\ndog\ncat\nbird\n")
    assert labels.repeated(labels.read(path)) == {"cat": [1, 3]}
