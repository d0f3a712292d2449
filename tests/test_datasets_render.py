"""Rendering with FluidSynth: determinism, no leakage between clips, timing, levels, errors."""

import numpy as np
import pytest

from vr_brian.datasets.render import (
    BLOCK,
    NoteEvent,
    Renderer,
    find_banks,
    fluidsynth_missing_reason,
    normalise_rms,
    require_banks,
)

BANKS = ("fluidr3", "timgm6mb")  # the two that load in well under a second
missing = fluidsynth_missing_reason(BANKS)
needs_synth = pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
RATE = 16000.0


@pytest.fixture(scope="module")
def renderer():
    with Renderer(RATE) as r:
        yield r


@pytest.fixture(scope="module")
def banks():
    return require_banks(BANKS)


def test_note_event_rejects_bad_values():
    with pytest.raises(ValueError, match="key"):
        NoteEvent(128, 100, 0.0, 1.0)
    with pytest.raises(ValueError, match="velocity"):
        NoteEvent(60, 0, 0.0, 1.0)
    with pytest.raises(ValueError, match="onset"):
        NoteEvent(60, 100, 0.5, 0.5)


def test_unknown_bank_is_named():
    with pytest.raises(ValueError, match="nosuchbank"):
        require_banks(["nosuchbank"])


def test_normalise_rms_sets_level_and_keeps_silence():
    rng = np.random.default_rng(0)
    audio = np.stack([rng.normal(0, 0.3, 1000), np.zeros(1000), rng.normal(0, 1e-3, 1000)])
    out = normalise_rms(audio, 0.05)
    rms = np.sqrt(np.mean(out.astype(float) ** 2, axis=1))
    np.testing.assert_allclose(rms[[0, 2]], 0.05, rtol=1e-5)
    assert np.all(out[1] == 0)


@needs_synth
def test_banks_are_found():
    assert set(BANKS) <= set(find_banks())


@needs_synth
def test_same_events_give_identical_audio_whatever_came_before(renderer, banks):
    events = [NoteEvent(60, 100, 0.0, 0.4), NoteEvent(64, 90, 0.3, 0.9, program=40)]
    first = renderer.render(events, 1.0, banks["fluidr3"])
    renderer.render([NoteEvent(40 + i, 127, 0.0, 1.0, program=42) for i in range(30)], 1.0, banks["fluidr3"])
    again = renderer.render(events, 1.0, banks["fluidr3"])
    with Renderer(RATE) as fresh:
        fresh_audio = fresh.render(events, 1.0, banks["fluidr3"])
    assert np.abs(first).max() > 1e-3
    assert np.array_equal(first, again)
    assert np.array_equal(first, fresh_audio)


@needs_synth
def test_nothing_leaks_into_the_next_clip(renderer, banks):
    renderer.render([NoteEvent(36 + i, 127, 0.0, 2.0) for i in range(10)], 0.5, banks["timgm6mb"])
    silent = renderer.render([], 0.5, banks["timgm6mb"])
    assert silent.shape == (8000,)
    assert np.all(silent == 0)


@needs_synth
def test_note_sounds_from_its_block_and_not_before(renderer, banks):
    onset = 0.5
    audio = renderer.render([NoteEvent(69, 100, onset, 0.9)], 1.0, banks["fluidr3"])
    start = int(round(onset * RATE / BLOCK)) * BLOCK
    assert np.all(audio[:start] == 0)
    assert np.abs(audio[start : start + 2 * BLOCK]).max() > 0


@needs_synth
def test_quantise_moves_times_to_block_boundaries(renderer):
    (event,) = renderer.quantise([NoteEvent(60, 100, 0.0101, 0.2)])
    step = BLOCK / RATE
    assert event.onset == pytest.approx(round(0.0101 / step) * step)
    assert (event.onset / step) == pytest.approx(round(event.onset / step))
