"""MedleyDB and MAPS loaders on tiny fake folders laid out like the real ones."""

import importlib.util

import numpy as np
import pytest
from scipy.io import wavfile

from vr_brian.datasets.real import (
    maps_chord_clips,
    maps_music_clips,
    medleydb_clips,
    read_audio,
    read_maps_notes,
    scan_maps,
    scan_medleydb,
)

needs_yaml = pytest.mark.skipif(
    importlib.util.find_spec("yaml") is None, reason="MedleyDB metadata needs PyYAML (pip install pyyaml)"
)
RATE = 44100  # both datasets ship 44.1 kHz 16-bit stereo WAV


def write_wav(path, mono, rate=RATE):
    path.parent.mkdir(parents=True, exist_ok=True)
    stereo = np.stack([mono, mono], axis=1)
    wavfile.write(path, rate, np.round(stereo * 32767).astype(np.int16))


def tone(freq, seconds, amplitude=0.3, rate=RATE):
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)


METADATA = """album: ''
artist: {artist}
mix_filename: {track}_MIX.wav
raw_dir: {track}_RAW
stem_dir: {track}_STEMS
stems:
  S01:
    component: melody
    filename: {track}_STEM_01.wav
    instrument: violin
    raw:
      R01: {{filename: {track}_RAW_01_01.wav, instrument: violin}}
  S02:
    component: ''
    filename: {track}_STEM_02.wav
    instrument: drum set
  S03:
    component: ''
    filename: {track}_STEM_03.wav
    instrument: [tack piano]
title: {track}
version: 1.2
"""


@pytest.fixture
def medleydb(tmp_path):
    """Track A keeps its metadata beside the audio, track B in Metadata/ (both layouts exist)."""
    root = tmp_path / "MedleyDB"
    for track, metadata_dir in (("ArtistA_SongA", None), ("ArtistB_SongB", "Metadata")):
        folder = root / "Audio" / track
        stems = folder / f"{track}_STEMS"
        violin = np.concatenate([tone(440, 3.0), np.zeros(int(1.5 * RATE))])  # 3 s of sound, then silence
        write_wav(stems / f"{track}_STEM_01.wav", violin)
        write_wav(stems / f"{track}_STEM_02.wav", np.random.default_rng(0).normal(0, 0.1, int(1.6 * RATE)))
        write_wav(stems / f"{track}_STEM_03.wav", tone(220, 2.0))
        write_wav(folder / f"{track}_MIX.wav", tone(440, 1.0))
        target = root / metadata_dir if metadata_dir else folder
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{track}_METADATA.yaml").write_text(METADATA.format(track=track, artist=track[:7]))
    return root


def test_read_audio_resamples_to_the_requested_rate(tmp_path):
    write_wav(tmp_path / "a.wav", tone(440, 1.0))
    audio = read_audio(tmp_path / "a.wav", 16000)
    assert len(audio) == 16000
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(16000, 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=1)
    assert np.abs(audio).max() == pytest.approx(0.3, rel=0.02)


@needs_yaml
def test_scan_medleydb_reads_both_layouts(medleydb):
    stems = scan_medleydb(medleydb)
    assert len(stems) == 6
    assert {s.track for s in stems} == {"ArtistA_SongA", "ArtistB_SongB"}
    labels = {(s.track, s.stem): s.instruments for s in stems}
    assert labels[("ArtistB_SongB", "S01")] == ("violin",)
    assert labels[("ArtistA_SongA", "S03")] == ("tack piano",)
    assert all(s.path.is_file() for s in stems)


@needs_yaml
def test_medleydb_clips_label_and_drop_silence(medleydb):
    clips = medleydb_clips(
        medleydb, {"violin": ["violin"], "drums": ["drum set"]}, duration=1.5, test_fraction=0.5, seed=0
    )
    # per track: violin 4.5 s -> 3 windows, the last silent; drums 1.6 s -> 1 window
    assert clips.audio.shape == (2 * (2 + 1), 24000)
    np.testing.assert_array_equal(np.bincount(clips.labels), [4, 2])
    for clip, label in zip(clips.audio, clips.labels, strict=True):
        if label == 0:
            peak = np.fft.rfftfreq(24000, 1 / 16000)[np.abs(np.fft.rfft(clip)).argmax()]
            assert peak == pytest.approx(440, abs=1)
    for track in range(2):  # a track is wholly train or wholly test
        assert len(set(clips.test[clips.source == track])) == 1
    assert clips.test.sum() == 3


@needs_yaml
def test_medleydb_missing_metadata_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="METADATA"):
        scan_medleydb(tmp_path)


@pytest.fixture
def maps(tmp_path):
    root = tmp_path / "MAPS"
    rate = RATE

    def recording(path, notes, seconds):
        audio = np.zeros(int(seconds * rate))
        for onset, offset, key in notes:
            start, stop = int(onset * rate), int(offset * rate)
            f0 = 440 * 2 ** ((key - 69) / 12)
            audio[start:stop] += 0.2 * np.sin(2 * np.pi * f0 * np.arange(stop - start) / rate)
        write_wav(path.parent / f"{path.name}.wav", audio)  # names hold dots: CH0.1
        lines = ["OnsetTime\tOffsetTime\tMidiPitch"] + [f"{a:.6f}\t{b:.6f}\t{k}" for a, b, k in notes]
        (path.parent / f"{path.name}.txt").write_text("\n".join(lines) + "\n")

    recording(root / "AkPnBcht/ISOL/NO/MAPS_ISOL_NO_F_S0_M60_AkPnBcht", [(0.5, 1.3, 60)], 2.0)
    recording(root / "AkPnBcht/ISOL/CH/MAPS_ISOL_CH0.1_F_AkPnBcht", [(0.2, 0.5, 48), (0.6, 1.0, 49)], 1.5)
    recording(root / "AkPnBcht/RAND/P2/MAPS_RAND_P2_M_I60-68_S0_n1_AkPnBcht", [(0.4, 1.4, 62), (0.41, 1.4, 67)], 2.0)
    recording(
        root / "ENSTDkCl/UCHO/C0-4-7/MAPS_UCHO_C0-4-7_I60-68_S0_n1_ENSTDkCl",
        [(0.3, 1.5, 60), (0.3, 1.5, 64), (0.31, 1.5, 67)],
        2.0,
    )
    recording(root / "ENSTDkCl/MUS/MAPS_MUS-bach_846_ENSTDkCl", [(0.0, 0.5, 60), (0.25, 1.25, 64), (1.0, 2.0, 72)], 2.0)
    return root


def test_read_maps_notes_skips_the_header(maps):
    notes = read_maps_notes(maps / "AkPnBcht/RAND/P2/MAPS_RAND_P2_M_I60-68_S0_n1_AkPnBcht.txt")
    np.testing.assert_allclose(notes, [[0.4, 1.4, 62], [0.41, 1.4, 67]])


def test_scan_maps_finds_subsets_pianos_and_polyphony(maps):
    found = scan_maps(maps)
    assert {(r.subset, r.piano) for r in found} == {
        ("ISOL", "AkPnBcht"),
        ("RAND", "AkPnBcht"),
        ("UCHO", "ENSTDkCl"),
        ("MUS", "ENSTDkCl"),
    }
    assert [r.polyphony for r in found if r.subset == "RAND"] == [2]
    assert len(scan_maps(maps, subsets=("ISOL",), pianos=("AkPnBcht",))) == 2
    with pytest.raises(ValueError, match="subsets"):
        scan_maps(maps, subsets=("FOO",))


def test_maps_chord_clips_start_at_the_onset_with_exact_keys(maps):
    clips = maps_chord_clips(maps, test_pianos=("ENSTDkCl",), duration=1.0)
    keys = sorted(tuple(np.flatnonzero(t) + 21) for t in clips.targets)
    assert keys == [(48,), (49,), (60,), (60, 64, 67), (62, 67)]
    assert clips.test.sum() == 1 and clips.source_names == ("AkPnBcht", "ENSTDkCl")
    for clip in clips.audio:
        assert np.abs(clip[:160]).max() > 0  # sound from the first 10 ms
    scale_note = next(i for i, t in enumerate(clips.targets) if t[48 - 21])
    assert np.all(clips.audio[scale_note][int(0.4 * 16000) + 10 :] == 0)  # silenced at the next onset


def test_maps_music_clips_have_frame_targets(maps):
    clips = maps_music_clips(maps, duration=1.0, frame=0.25)
    assert clips.audio.shape == (2, 16000) and clips.frame_targets.shape == (2, 4, 88)
    on = lambda clip, key: clips.frame_targets[clip, :, key - 21].astype(int).tolist()
    assert on(0, 60) == [1, 1, 0, 0] and on(0, 64) == [0, 1, 1, 1] and on(1, 64) == [1, 0, 0, 0]
    assert on(1, 72) == [1, 1, 1, 1]
