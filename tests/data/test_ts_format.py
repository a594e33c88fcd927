""".ts files: the archive's header variants read, and every malformed file is one line naming file and line."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data import DataError, read_ts_file
from rnnkit.data.sequence_table import read_sequence_file

HEADER = "@problemName tiny\n@univariate false\n@equalLength false\n@classLabel true up down\n@data\n"


def write(tmp_path, text: str, name: str = "tiny.ts"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_header_tags_comments_and_variable_lengths(tmp_path):
    path = write(tmp_path, "# a comment\n% an ARFF-style comment\n@missing false\n@seriesLength 3\n" + HEADER +
                 "1,2,3:4,5,6:down\n\n7,8:9,10:up\n")
    sequences, labels, classes = read_ts_file(path)
    assert classes == ("up", "down") and labels == ["down", "up"]  # declared order, not sorted
    np.testing.assert_array_equal(sequences[0], [[1, 4], [2, 5], [3, 6]])
    assert sequences[1].shape == (2, 2) and sequences[1].dtype == np.float32


def test_timestamps_are_dropped_and_their_colons_do_not_split_channels(tmp_path):
    path = write(tmp_path, "@timeStamps true\n@classLabel true 1 2\n@data\n"
                 "(2007-01-01 00:00:00,241.97),(2007-01-01 00:01:00,241.75):1\n"
                 "(2008-09-09 20:56:00,4.0), (2008-09-09 20:57:00,0.0):(1,5.0),(2,6.0):2\n")
    with pytest.raises(DataError, match="line 5: 2 channel"):
        read_ts_file(path)
    path = write(tmp_path, "@timeStamps true\n@classLabel true 1 2\n@data\n"
                 "(2007-01-01 00:00:00,241.97),(2007-01-01 00:01:00,241.75):1\n"
                 "(2008-09-09 20:56:00,4.0), (2008-09-09 20:57:00,0.0):2\n")
    sequences, labels, _ = read_ts_file(path)
    np.testing.assert_allclose(sequences[0][:, 0], [241.97, 241.75], rtol=1e-6)
    np.testing.assert_array_equal(sequences[1][:, 0], [4.0, 0.0])
    assert labels == ["1", "2"]


def test_trailing_missing_values_are_padding_and_inner_ones_need_fill(tmp_path):
    path = write(tmp_path, HEADER + "1,2,?,?:3,4,NaN,?:up\n1,?,3:4,5,6:down\n")
    with pytest.raises(DataError, match=r"tiny.ts, line 7: 1 missing value\(s\) inside the case \(first at step 1, "
                                        r"channel 0\); pass --fill ffill or --fill interpolate"):
        read_ts_file(path)
    sequences, _, _ = read_ts_file(path, fill="interpolate")
    assert sequences[0].shape == (2, 2)  # the two all-missing steps at the end are cut
    np.testing.assert_array_equal(sequences[1][:, 0], [1, 2, 3])
    sequences, _, _ = read_ts_file(path, fill="ffill")
    np.testing.assert_array_equal(sequences[1][:, 0], [1, 1, 3])


@pytest.mark.parametrize("text, message", [
    ("@classLabel true up down\n1,2:up\n", r"tiny.ts, line 2: expected a header line \(@...\) or @data"),
    ("@classLabel true up down\n", r"tiny.ts: no @data line"),
    ("@classLabel true up down\n@data\n", r"tiny.ts: no cases found after @data"),
    ("@classLabel true\n@data\n1:up\n", r"line 1: @classLabel true must list the class labels"),
    ("@classLabel maybe\n@data\n1:up\n", r"line 1: @classLabel must be followed by true or false"),
    ("@targetLabel true\n@data\n1,2:0.5\n", r"line 1: @targetLabel true marks a regression problem"),
    (HEADER + "1,2:3,4:left\n", r"line 6: class label 'left' is not declared in @classLabel \(up down\)"),
    (HEADER + "1,x,3:up\n", r"line 6, channel 0: 'x' is not a number"),
    (HEADER + "1,2,3:4,5:up\n", r"line 6: channels have different lengths \(3, 2\)"),
    (HEADER + "1,2:3,4:up\n1,2:down\n", r"line 7: 1 channel\(s\); the first case has 2"),
    (HEADER + "1,2,3\n", r"line 6: expected channels then a class label separated by ':'"),
    (HEADER + "?,?:?,?:up\n", r"line 6: every value of this case is missing"),
])
def test_malformed_files_name_the_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message) as info:
        read_ts_file(write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_unlabelled_file_and_missing_file(tmp_path):
    path = write(tmp_path, "@classLabel false\n@data\n1,2,3\n4,5\n")
    sequences, labels, classes = read_ts_file(path)
    assert labels is None and classes == () and [len(s) for s in sequences] == [3, 2]
    with pytest.raises(DataError, match="has no class labels"):
        read_sequence_file(path)
    file = read_sequence_file(path, class_names=("a", "b"), labels_required=False)
    assert file.labels.tolist() == [-1, -1] and file.ids == [0, 1]
    with pytest.raises(DataError, match="does not exist"):
        read_ts_file(tmp_path / "nope.ts")


def test_every_classification_file_aeon_ships_reads():
    """Header variants in the wild: the UCR/UEA classification files bundled in aeon all read."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("aeon")
    if spec is None:
        pytest.skip("aeon is not installed")
    root = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    read = 0
    for path in sorted(root.glob("*/*.ts")):
        head = path.read_text(encoding="utf-8", errors="replace")[:4000].lower()
        if "@targetlabel true" in head:
            with pytest.raises(DataError, match="regression problem"):
                read_ts_file(path)
            continue
        sequences, labels, classes = read_ts_file(path)
        assert labels is not None and set(labels) <= set(classes), path.name
        assert all(np.isfinite(s).all() for s in sequences), path.name
        read += 1
    assert read >= 10
