"""Piano chords: exact multi-hot labels, energy at the fundamentals, held-out piano; score excerpts."""

import dataclasses
import importlib.util

import numpy as np
import pytest

from vr_brian.datasets.clips import PIANO_LOW, key_frequency
from vr_brian.datasets.piano import PianoSettings, ScoreSettings, build_piano_chords, build_score_excerpts, random_chord
from vr_brian.datasets.render import fluidsynth_missing_reason

BANKS = ("fluidr3", "timgm6mb")
missing = fluidsynth_missing_reason(BANKS)
needs_synth = pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
SMALL = PianoSettings(
    train_per_polyphony=3, test_per_polyphony=2, banks=BANKS, test_bank="timgm6mb", duration=0.5, hold=0.4, seed=11
)


@pytest.fixture(scope="module")
def chords(tmp_path_factory):
    return build_piano_chords(SMALL, tmp_path_factory.mktemp("piano"))


def test_random_chords_have_distinct_keys_on_the_piano():
    rng = np.random.default_rng(0)
    for polyphony in range(1, 7):
        keys = [e.key for e in random_chord(polyphony, rng, PianoSettings())]
        assert len(set(keys)) == polyphony
        assert all(PIANO_LOW <= k < PIANO_LOW + 88 for k in keys)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="polyphonies"):
        PianoSettings(polyphonies=(0, 1))
    with pytest.raises(ValueError, match="hold"):
        PianoSettings(hold=2.0)


@needs_synth
def test_labels_are_exactly_the_keys_played(chords):
    assert chords.targets.shape == (len(chords), 88)
    for clip in range(len(chords)):
        played = set(chords.clip_events(clip)[:, 1].astype(int) - PIANO_LOW)
        assert set(np.flatnonzero(chords.targets[clip])) == played
    levels = (
        np.repeat(SMALL.polyphonies, SMALL.train_per_polyphony).tolist()
        + np.repeat(SMALL.polyphonies, SMALL.test_per_polyphony).tolist()
    )
    np.testing.assert_array_equal(chords.targets.sum(axis=1), levels)


@needs_synth
def test_one_piano_is_held_out(chords):
    held_out = SMALL.banks.index(SMALL.test_bank)
    assert np.all(chords.source[chords.test] == held_out)
    assert np.all(chords.source[~chords.test] != held_out)
    assert chords.test.sum() == SMALL.test_per_polyphony * len(SMALL.polyphonies)


@needs_synth
def test_single_keys_have_energy_at_their_fundamental(tmp_path):
    # an independent look at the audio: the spectrum of a lone key peaks at 440 * 2^((k-69)/12)
    settings = dataclasses.replace(
        SMALL, polyphonies=(1,), train_per_polyphony=10, test_per_polyphony=4, duration=1.0, hold=0.8, seed=2
    )
    clips = build_piano_chords(settings, tmp_path)
    checked = 0
    for clip, target in zip(clips.audio, clips.targets, strict=True):
        key = PIANO_LOW + int(np.flatnonzero(target)[0])
        if not 40 <= key <= 100:  # the lowest keys' fundamentals are weak in real pianos
            continue
        spectrum = np.abs(np.fft.rfft(clip * np.hanning(len(clip))))
        freqs = np.fft.rfftfreq(len(clip), 1 / clips.sample_rate)
        f0 = key_frequency(key)
        near = np.abs(freqs - f0) <= max(0.02 * f0, 2.0)
        semitone_off = np.abs(freqs - f0 * 2 ** (-1 / 12)) <= 0.01 * f0
        band = (freqs > 30) & (freqs < 7500)
        assert spectrum[near].max() > 20 * np.median(spectrum[band]), key
        assert spectrum[near].max() > 5 * spectrum[semitone_off].max(), key
        checked += 1
    assert checked >= 6


@needs_synth
@pytest.mark.skipif(importlib.util.find_spec("music21") is None, reason="needs music21 (pip install music21)")
def test_score_excerpts_follow_a_four_voice_chorale(tmp_path):
    settings = ScoreSettings(pieces=("bach/bwv66.6",), bank="fluidr3", max_excerpts=4, duration=1.0)
    clips = build_score_excerpts(settings, tmp_path)
    assert len(clips) == 4 and clips.audio.shape == (4, 16000) and np.all(clips.test)
    voices = clips.frame_targets.sum(axis=2)
    assert voices.max() <= 4 and voices.mean() >= 2.5  # soprano, alto, tenor, bass
    np.testing.assert_array_equal(clips.targets, clips.frame_targets.any(axis=1))
    for clip in range(len(clips)):  # frames agree with the notes played
        events = clips.clip_events(clip)
        for frame in range(0, clips.frame_targets.shape[1], 5):
            centre = (frame + 0.5) * settings.frame
            sounding = events[(events[:, 3] <= centre) & (centre < events[:, 4])][:, 1].astype(int)
            assert set(np.flatnonzero(clips.frame_targets[clip, frame])) == set(sounding - PIANO_LOW)
