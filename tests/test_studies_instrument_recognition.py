"""The instrument recognition data step writes .npz files the trainer reads, for both protocols."""

import json

import numpy as np
import pytest

from vr_brian.datasets.render import fluidsynth_missing_reason

missing = fluidsynth_missing_reason(("fluidr3", "timgm6mb"))


def audio_of(cache_dir):
    """The rendered pool of a quick run (the only instruments entry of its cache)."""
    (path,) = cache_dir.glob("instruments-*.npz")
    with np.load(path) as stored:
        return stored["audio"], stored["test"], stored["targets"]


@pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
def test_quick_heldout_rate_run_writes_trainer_files(tmp_path):
    from gradients.data import load_npz
    from studies.instrument_recognition.run import main

    assert (
        main(["--quick", "--out-dir", str(tmp_path), "--protocol", "heldout", "--encoder", "rate", "--dt", "5ms"]) == 0
    )
    train, test = load_npz(tmp_path / "train.npz"), load_npz(tmp_path / "test.npz")
    assert train.spikes.shape == (10, 300, 64) and train.spikes.dtype == bool
    np.testing.assert_array_equal(train.targets, np.eye(10, dtype=np.uint8))
    assert test.class_names == train.class_names and len(test.class_names) == 10
    assert train.spikes.sum() > 0 and test.spikes.sum() > 0
    build = json.loads((tmp_path / "results.json").read_text())["builds"]["heldout-rate"]
    assert build["parts"]["test"]["clips"] == 10 and build["split"]["test_bank"] == "timgm6mb"
    assert json.loads((tmp_path / "manifest.json").read_text()) == build


@pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
def test_quick_paper_spikegram_run_splits_one_pool_of_both_banks(tmp_path):
    from gradients.data import load_npz
    from studies.instrument_recognition.run import main

    assert main(["--quick", "--out-dir", str(tmp_path), "--split-seed", "3"]) == 0
    train, test = load_npz(tmp_path / "train.npz"), load_npz(tmp_path / "test.npz")
    assert train.spikes.shape == (10, 500, 384) and test.spikes.shape == (10, 500, 384)
    np.testing.assert_array_equal(train.targets.sum(axis=0), np.ones(10))
    np.testing.assert_array_equal(test.targets.sum(axis=0), np.ones(10))
    build = json.loads((tmp_path / "results.json").read_text())["builds"]["paper-spikegram"]
    assert build["split"] == {"kind": "per_class_split", "train_per_class": 1, "test_per_class": 1, "split_seed": 3}
    encoder = build["encoder"]
    assert encoder["mapping"] == "levels" and encoder["n_channels"] * encoder["copies"] == 384
    assert len(encoder["level_edges"]) == 2
    # the pool: one clip per class from each bank; a class's two clips go one to each part
    from vr_brian.datasets import per_class_split

    audio, held_out_flag, targets = audio_of(tmp_path / "cache")
    assert len(audio) == 20 and held_out_flag.sum() == 10
    train_index, test_index = per_class_split(targets.argmax(axis=1), 1, 1, seed=3)
    np.testing.assert_array_equal(test.targets, targets[test_index])
    assert 0 < held_out_flag[test_index].sum() < 10  # the test part mixes both banks
    spikes_per_clip = build["parts"]["train"]["spikes_per_clip"]
    assert spikes_per_clip["mean"] == pytest.approx(train.spikes.sum(axis=(1, 2)).mean())
    assert 0 < spikes_per_clip["max"] <= encoder["max_atoms"]
    assert build["parts"]["train"]["density"] == pytest.approx(train.spikes.mean())


def test_validation_clips_are_carved_from_the_training_part_only():
    from studies.instrument_recognition.mapping_choice import carve
    from vr_brian.datasets import per_class_split

    labels = np.repeat(np.arange(10), 240)
    fit, val, test = carve(labels, 160, 80, 40, val_seed=1)
    assert len(fit) == 1200 and len(val) == 400 and len(test) == 800
    assert not set(fit) & set(val) and not set(fit) & set(test) and not set(val) & set(test)
    np.testing.assert_array_equal(test, per_class_split(labels, 160, 80, seed=0)[1])
    np.testing.assert_array_equal(np.bincount(labels[val]), [40] * 10)


@pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
def test_quick_mapping_choice_trains_every_mapping(tmp_path):
    from studies.instrument_recognition.mapping_choice import MAPPINGS, main

    out = tmp_path / "mapping.json"
    assert main(["--quick", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert set(results["mappings"]) == set(MAPPINGS) and results["best"] in MAPPINGS
    for mapping, row in results["mappings"].items():
        assert row["encoder"]["mapping"] == mapping and len(row["runs"]) == 1
        assert 0 <= row["val_f"]["mean"] <= 1 and row["density"] > 0
    assert results["config"]["fit_clips"] == 4 and results["config"]["val_clips"] == 2
