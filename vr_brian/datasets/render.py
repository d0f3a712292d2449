"""Offline rendering of note events with real sampled instruments (SoundFont banks, FluidSynth).

One :class:`Renderer` holds one FluidSynth synthesizer for its whole life and loads each sound
bank once. Every clip is rendered from silence: all voices are killed and the controllers reset
between clips (``all_sounds_off``), reverb and chorus are off (their tails would leak from one clip into the next),
and the synthesizer's float output is used (its 16-bit output adds dither noise whose state
carries over between calls, which would make a clip depend on what was rendered before it).

FluidSynth reuses voice objects and ramps a new voice's amplitude and filter over its first
block from whatever the object last held; before each clip every voice of the pool is sounded
silently for a few blocks so that this state is the same each time (without it the first 4 ms
of a note differed by up to 5% of its peak depending on earlier clips). A clip then renders
bit-identically after any clips of the same bank; after clips of another bank it can differ by
one float32 rounding step (measured: at most 1e-9 on a peak of 0.03). A data set is rendered in
a fixed order from a fresh synthesizer, so its hash is reproducible.

FluidSynth applies events at the start of its 64-sample processing blocks, so note times are
quantised to whole blocks (4 ms at 16 kHz); the events a clip carries are the quantised ones,
so its labels are exactly what was played.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
from pathlib import Path

import numpy as np

__all__ = [
    "SoundBank",
    "NoteEvent",
    "Renderer",
    "BANK_FILES",
    "APT_PACKAGES",
    "find_banks",
    "require_banks",
    "fluidsynth_missing_reason",
    "normalise_rms",
    "events_array",
    "render_clips",
    "BLOCK",
    "DRUM_CHANNEL",
]

#: The Debian packages rendering needs: the FluidSynth library, then the sound banks. Listed once, in
#: apt-packages.txt beside this module, which the Makefile and CI install from too.
APT_PACKAGES = tuple(Path(__file__).with_name("apt-packages.txt").read_text(encoding="utf-8").split())

#: FluidSynth's processing block (samples); events act at block boundaries.
BLOCK = 64
#: General MIDI percussion channel (0-based).
DRUM_CHANNEL = 9
#: The Debian sound banks, by short name: candidate file names, first found wins.
BANK_FILES = {
    "fluidr3": ("sf2/FluidR3_GM.sf2",),
    "musescore": ("sf3/MuseScore_General_Lite.sf3", "sf3/MuseScore_General.sf3", "sf2/MuseScore_General.sf2"),
    "timgm6mb": ("sf2/TimGM6mb.sf2",),
}
#: Where the banks are looked for; ``VR_BRIAN_SOUNDFONTS`` (a folder) is searched first.
SEARCH_ROOTS = ("/usr/share/sounds",)
#: Silent blocks sounded to overwrite the voice pool's state (see Renderer._reset_voices).
_PRIME_BLOCKS = 2


@dataclasses.dataclass(frozen=True)
class SoundBank:
    """A SoundFont file under a short name."""

    name: str
    path: str

    def identity(self) -> dict:
        """Name, file and size: enough to notice that a bank was replaced."""
        return {"name": self.name, "path": self.path, "bytes": os.path.getsize(self.path)}


@dataclasses.dataclass(frozen=True)
class NoteEvent:
    """One note: MIDI ``key`` (0-127) at ``velocity`` (1-127), from ``onset`` to ``offset`` seconds.

    ``program`` is the General MIDI program (0-127); ``drum`` plays ``key`` on the percussion
    channel instead (``program`` ignored).
    """

    key: int
    velocity: int
    onset: float
    offset: float
    program: int = 0
    drum: bool = False

    def __post_init__(self):
        if not 0 <= self.key <= 127:
            raise ValueError(f"key must be in [0, 127], got {self.key}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be in [1, 127], got {self.velocity}")
        if not 0 <= self.onset < self.offset:
            raise ValueError(f"need 0 <= onset < offset, got onset={self.onset}, offset={self.offset}")
        if not 0 <= self.program <= 127:
            raise ValueError(f"program must be in [0, 127], got {self.program}")


def _roots() -> list[Path]:
    extra = os.environ.get("VR_BRIAN_SOUNDFONTS")
    return ([Path(extra)] if extra else []) + [Path(r) for r in SEARCH_ROOTS]


def find_banks() -> dict[str, SoundBank]:
    """The sound banks present on this machine, by short name (see :data:`BANK_FILES`)."""
    found = {}
    for name, candidates in BANK_FILES.items():
        for root in _roots():
            hits = [root / c for c in candidates] + [root / Path(c).name for c in candidates]
            hit = next((p for p in hits if p.is_file()), None)
            if hit is not None:
                found[name] = SoundBank(name, str(hit.resolve()))
                break
    return found


def fluidsynth_missing_reason(banks=()) -> str | None:
    """Why rendering cannot run here (missing library or bank), or None when it can."""
    try:
        import fluidsynth  # noqa: F401  (loads libfluidsynth.so.3)
    except (ImportError, OSError) as error:
        return (
            f"pyfluidsynth/libfluidsynth unavailable ({error}); "
            f"install: apt-get install {APT_PACKAGES[0]}; pip install pyfluidsynth"
        )
    present = find_banks()
    missing = [b for b in banks if b not in present]
    if missing:
        return (
            f"sound banks {missing} not found under {[str(r) for r in _roots()]}; install: "
            f"apt-get install {' '.join(APT_PACKAGES[1:])}"
        )
    return None


def require_banks(names) -> dict[str, SoundBank]:
    """The named banks, or a RuntimeError saying what to install."""
    names = list(names)
    unknown = [n for n in names if n not in BANK_FILES]
    if unknown:
        raise ValueError(f"unknown sound bank(s) {unknown}; choose from {sorted(BANK_FILES)}")
    reason = fluidsynth_missing_reason(names)
    if reason:
        raise RuntimeError(reason)
    present = find_banks()
    return {n: present[n] for n in names}


def normalise_rms(audio: np.ndarray, target_rms: float = 0.05, floor: float = 1e-6) -> np.ndarray:
    r"""Scale each clip (last axis) to RMS ``target_rms``; a silent clip (RMS < ``floor``) stays 0.

    .. math:: y = x \cdot \rho / \sqrt{\langle x^2 \rangle}

    Levels differ a lot across keys and banks (the top piano keys are ~6x quieter), and the
    encoders' thresholds should not learn loudness.
    """
    audio = np.asarray(audio, dtype=np.float32)
    rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64), axis=-1, keepdims=True))
    gain = np.where(rms > floor, target_rms / np.maximum(rms, floor), 0.0)
    return (audio * gain).astype(np.float32)


class Renderer:
    """Renders note events into mono float32 clips with one reused FluidSynth synthesizer.

    Parameters
    ----------
    sample_rate : float
        Output rate in Hz (16 kHz for the datasets).
    gain : float
        FluidSynth master gain; levels are normalised afterwards anyway.
    polyphony : int
        Voices in FluidSynth's pool (notes beyond it steal the oldest voices).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, sample_rate: float = 16000.0, gain: float = 0.2, polyphony: int = 128):
        reason = fluidsynth_missing_reason()
        if reason:
            raise RuntimeError(reason)
        import fluidsynth

        if not 8000 <= sample_rate <= 96000:
            raise ValueError(f"sample_rate must be in [8000, 96000] Hz, got {sample_rate}")
        self.sample_rate = float(sample_rate)
        self._synth = fluidsynth.Synth(
            gain=gain,
            samplerate=self.sample_rate,
            **{"synth.reverb.active": 0, "synth.chorus.active": 0, "synth.polyphony": polyphony},
        )
        self.polyphony = int(polyphony)
        self._write_float = fluidsynth._fl.fluid_synth_write_float
        self._write_float.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
        ]
        self._write_float.restype = ctypes.c_int
        self._sfids: dict[str, int] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._synth is not None:
            self._synth.delete()
            self._synth = None

    def _sfid(self, bank: SoundBank) -> int:
        if bank.path not in self._sfids:
            sfid = self._synth.sfload(bank.path)
            if sfid < 0:
                raise RuntimeError(f"FluidSynth could not load sound bank {bank.path}")
            self._sfids[bank.path] = sfid
        return self._sfids[bank.path]

    def block_time(self, seconds: float) -> int:
        """``seconds`` as a whole number of FluidSynth blocks (rounded to nearest)."""
        return int(round(seconds * self.sample_rate / BLOCK))

    def quantise(self, events) -> list[NoteEvent]:
        """Events with onsets and offsets moved to the block boundaries where they sound."""
        step = BLOCK / self.sample_rate
        out = []
        for e in events:
            on, off = self.block_time(e.onset), self.block_time(e.offset)
            out.append(dataclasses.replace(e, onset=on * step, offset=max(off, on + 1) * step))
        return out

    def _write(self, n_samples: int) -> np.ndarray:
        left = np.zeros(n_samples, dtype=np.float32)
        right = np.zeros(n_samples, dtype=np.float32)
        self._write_float(self._synth.synth, n_samples, left.ctypes.data, 0, 1, right.ctypes.data, 0, 1)
        return 0.5 * (left + right)

    def _reset_voices(self, sfid: int):
        """Put every voice of the pool into the same state before a clip.

        FluidSynth ramps a new voice's amplitude and filter over its first block starting from
        whatever the reused voice object last held, so without this the first 4 ms of a note
        depend on earlier clips. Sounding ``polyphony`` silent notes (channel volume 0) for a few
        blocks overwrites that state identically in every voice.
        """
        synth = self._synth
        for channel in range(16):
            synth.all_sounds_off(channel)
            synth.program_select(channel, sfid, 128 if channel == DRUM_CHANNEL else 0, 0)
            synth.cc(channel, 7, 0)
        for key in range(128):
            for channel in range(16):
                if synth.get_active_voice_count() >= self.polyphony:
                    break
                synth.noteon(channel, key, 100)
        self._write(_PRIME_BLOCKS * BLOCK)
        for channel in range(16):
            synth.all_sounds_off(channel)
            synth.cc(channel, 121, 0)  # reset all controllers (not volume)
            synth.cc(channel, 7, 100)  # General MIDI default volume
            synth.pitch_bend(channel, 0)
        self._write(BLOCK)

    def render(self, events, duration: float, bank: SoundBank) -> np.ndarray:
        """Render ``events`` (:class:`NoteEvent`) for ``duration`` seconds with ``bank``.

        Each distinct program gets its own MIDI channel (at most 15 melodic programs per clip);
        drum events use the General MIDI percussion channel. Returns a float32 array of
        ``round(duration * sample_rate)`` samples, unnormalised.
        """
        if self._synth is None:
            raise RuntimeError("Renderer is closed")
        if duration <= 0:
            raise ValueError(f"duration must be > 0 s, got {duration}")
        sfid = self._sfid(bank)
        n_samples = int(round(duration * self.sample_rate))
        n_blocks = -(-n_samples // BLOCK)
        self._reset_voices(sfid)
        channels: dict = {}
        for e in events:
            if e.drum:
                channels.setdefault(("drum", 0), DRUM_CHANNEL)
            elif ("melodic", e.program) not in channels:
                free = [c for c in range(16) if c != DRUM_CHANNEL and c not in channels.values()]
                if not free:
                    raise ValueError("more than 15 distinct programs in one clip")
                channels[("melodic", e.program)] = free[0]
        for (kind, program), channel in channels.items():
            self._synth.program_select(channel, sfid, 128 if kind == "drum" else 0, program)
        # (block, order, action): note-offs before note-ons in the same block, so a repeated key
        # is re-struck rather than cut.
        actions = []
        for e in events:
            channel = channels[("drum", 0)] if e.drum else channels[("melodic", e.program)]
            on = self.block_time(e.onset)
            off = max(self.block_time(e.offset), on + 1)
            actions.append((on, 1, channel, e.key, e.velocity))
            actions.append((off, 0, channel, e.key, 0))
        actions.sort()
        pieces, block, i = [], 0, 0
        while block < n_blocks:
            while i < len(actions) and actions[i][0] <= block:
                _, is_on, channel, key, velocity = actions[i]
                if is_on:
                    self._synth.noteon(channel, key, velocity)
                else:
                    self._synth.noteoff(channel, key)
                i += 1
            next_block = actions[i][0] if i < len(actions) else n_blocks
            span = max(1, min(next_block, n_blocks) - block)
            pieces.append(self._write(span * BLOCK))
            block += span
        return np.concatenate(pieces)[:n_samples]


def events_array(clip_events) -> np.ndarray:
    """Events of many clips as one (n_events, 7) array: clip, key, velocity, onset, offset,
    program, drum (the layout of :attr:`vr_brian.datasets.clips.ClipSet.events`)."""
    rows = [
        (clip, e.key, e.velocity, e.onset, e.offset, e.program, float(e.drum))
        for clip, events in enumerate(clip_events)
        for e in events
    ]
    return np.array(rows, dtype=np.float64).reshape(-1, 7)


def render_clips(plan, banks: dict, duration: float, sample_rate: float, target_rms: float, progress: bool = False):
    """Render a list of ``(bank name, events)`` clips with one synthesizer.

    Returns ``(audio, events)``: (n, samples) float32 clips normalised to RMS ``target_rms``
    (:func:`normalise_rms`), and the block-quantised events actually played
    (:func:`events_array`), so labels derived from them are exact.
    """
    from tqdm import tqdm

    played, audio = [], []
    with Renderer(sample_rate) as renderer:
        for bank_name, events in tqdm(plan, desc="rendering", disable=not progress, unit="clip"):
            events = renderer.quantise(events)
            played.append(events)
            audio.append(renderer.render(events, duration, banks[bank_name]))
    return normalise_rms(np.stack(audio), target_rms), events_array(played)
