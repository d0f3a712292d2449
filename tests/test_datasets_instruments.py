"""Instrument clips: reproducible from a seed, held-out bank, cache reuse and rebuild, phrases."""

import dataclasses

import numpy as np
import pytest

from vr_brian.datasets.instruments import INSTRUMENTS, InstrumentSettings, build_instruments, instrument_phrase
from vr_brian.datasets.render import fluidsynth_missing_reason

BANKS = ("fluidr3", "timgm6mb")
missing = fluidsynth_missing_reason(BANKS)
needs_synth = pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
SMALL = InstrumentSettings(train_per_class=2, test_per_class=1, banks=BANKS, test_bank="timgm6mb", duration=0.5, seed=3)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    directory = tmp_path_factory.mktemp("instruments")
    return directory, build_instruments(SMALL, directory)


def test_phrases_are_monophonic_in_range_and_fill_the_clip():
    rng = np.random.default_rng(0)
    settings = InstrumentSettings()
    for instrument in INSTRUMENTS.values():
        for _ in range(20):
            events = instrument_phrase(instrument, rng, settings)
            onsets = np.array([e.onset for e in events])
            offsets = np.array([e.offset for e in events])
            assert np.all(onsets[1:] >= offsets[:-1] - 1e-9)  # no overlap
            assert onsets[0] < 0.1 and onsets[-1] >= settings.duration - 0.05 - 0.6 * 2
            assert all(e.key in instrument.keys for e in events)
            assert all(settings.velocity[0] <= e.velocity <= settings.velocity[1] for e in events)
            assert all(e.drum == bool(instrument.drum_keys) for e in events)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="classes"):
        InstrumentSettings(classes=("violin", "fiddle"))
    with pytest.raises(ValueError, match="test_bank"):
        InstrumentSettings(test_bank="other")
    with pytest.raises(ValueError, match="velocity"):
        InstrumentSettings(velocity=(0, 100))


@needs_synth
def test_held_out_bank_only_in_test_split(built):
    _, clips = built
    n_classes = len(SMALL.classes)
    assert clips.audio.shape == (3 * n_classes, 8000) and clips.audio.dtype == np.float32
    held_out = SMALL.banks.index("timgm6mb")
    assert np.all(clips.source[clips.test] == held_out)
    assert np.all(clips.source[~clips.test] != held_out)
    np.testing.assert_array_equal(np.bincount(clips.split("test").labels), np.ones(n_classes))
    np.testing.assert_array_equal(np.bincount(clips.split("train").labels), 2 * np.ones(n_classes))
    np.testing.assert_allclose(np.sqrt(np.mean(clips.audio.astype(float) ** 2, axis=1)), 0.05, rtol=1e-4)


@needs_synth
def test_events_match_each_clips_class(built):
    _, clips = built
    for clip, label in enumerate(clips.labels):
        instrument = INSTRUMENTS[SMALL.classes[label]]
        events = clips.clip_events(clip)
        assert len(events) >= 1
        assert np.all(np.isin(events[:, 1], instrument.keys))
        assert np.all(events[:, 6] == float(bool(instrument.drum_keys)))
        if not instrument.drum_keys:
            assert np.all(events[:, 5] == instrument.program)


@needs_synth
def test_same_seed_same_hash_and_cache_reuse(built, tmp_path):
    directory, clips = built
    again = build_instruments(SMALL, directory)
    assert again.manifest["reused"] and again.manifest["hash"] == clips.manifest["hash"]
    rebuilt = build_instruments(SMALL, tmp_path)  # a fresh render, another folder
    assert not rebuilt.manifest["reused"]
    assert rebuilt.manifest["hash"] == clips.manifest["hash"]
    assert np.array_equal(rebuilt.audio, clips.audio)


@needs_synth
def test_changed_setting_rebuilds(built):
    directory, clips = built
    other = build_instruments(dataclasses.replace(SMALL, seed=4), directory)
    assert not other.manifest["reused"]
    assert other.manifest["hash"] != clips.manifest["hash"]
    assert other.manifest["settings"]["seed"] == 4
    assert {b["name"] for b in other.manifest["settings"]["bank_files"]} == set(BANKS)
