"""ClipSet bookkeeping, piano rolls and key frequencies."""

import numpy as np
import pytest

from vr_brian.datasets.clips import ClipSet, key_frequency, piano_roll


def test_key_frequency_equal_temperament():
    np.testing.assert_allclose(key_frequency([69, 81, 57, 21, 108]), [440.0, 880.0, 220.0, 27.5, 4186.009], rtol=1e-6)


def test_piano_roll_marks_frame_centres():
    notes = np.array([[0.0, 0.25, 60], [0.1, 0.2, 21], [0.3, 1.0, 108], [0.0, 1.0, 10]])
    roll = piano_roll(notes, 0.5, 0.1)  # centres 0.05, 0.15, ..., 0.45
    assert roll.shape == (5, 88)
    np.testing.assert_array_equal(roll[:, 60 - 21], [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(roll[:, 0], [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(roll[:, 87], [0, 0, 0, 1, 1])
    assert roll.sum() == 2 + 1 + 2  # key 10 lies below the piano


def make_set():
    targets = np.eye(3, dtype=np.uint8)[[0, 1, 2, 1]]
    events = np.array(
        [[0, 60, 100, 0, 1, 0, 0], [2, 61, 100, 0, 1, 0, 0], [3, 62, 100, 0, 1, 0, 0], [3, 63, 100, 0, 1, 0, 0]],
        dtype=float,
    )
    return ClipSet(
        np.arange(8, dtype=np.float32).reshape(4, 2),
        targets,
        np.array([0, 0, 1, 1]),
        np.array([False, False, True, True]),
        16000.0,
        ("a", "b", "c"),
        ("s0", "s1"),
        events,
    )


def test_split_keeps_rows_and_renumbers_events():
    clips = make_set()
    test = clips.split("test")
    np.testing.assert_array_equal(test.audio, [[4, 5], [6, 7]])
    np.testing.assert_array_equal(test.labels, [2, 1])
    np.testing.assert_array_equal(test.clip_events(1)[:, 1], [62, 63])
    np.testing.assert_array_equal(test.clip_events(0)[:, 1], [61])
    assert len(clips.split("train")) == 2


def test_bad_split_and_multi_hot_labels_are_refused():
    clips = make_set()
    with pytest.raises(ValueError, match="which"):
        clips.split("validation")
    multi = ClipSet(
        clips.audio,
        np.ones((4, 3), dtype=np.uint8),
        clips.source,
        clips.test,
        16000.0,
        clips.class_names,
        clips.source_names,
    )
    with pytest.raises(ValueError, match="one-hot"):
        multi.labels
    with pytest.raises(ValueError, match="targets"):
        ClipSet(
            clips.audio,
            np.ones((4, 2), dtype=np.uint8),
            clips.source,
            clips.test,
            16000.0,
            clips.class_names,
            clips.source_names,
        )
