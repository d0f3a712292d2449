"""A user's recording in a file: the input (an injected current or input spike times) and the
response (voltage and/or spike times, optionally repeated trials), read with checks.

Two formats, both naming the unit of every dimensional quantity (Brian2 unit names):

**npz** (``numpy.savez``): ``time`` (steps,) with ``time_unit`` (e.g. ``"ms"``); the input,
either ``current`` (steps,) with ``current_unit`` (``"nA"``) or ``input_spike_times`` with
``input_spike_times_unit`` and optionally ``input_spike_weights`` (dimensionless, one per
spike, default 1); the response, ``voltage`` (steps,) or (trials, steps) with ``voltage_unit``
and/or ``spike_times`` with ``spike_times_unit`` and optionally ``spike_trials`` (the trial of
each spike, default 0).

**csv**: a header row, then one row per sample. Columns ``time [ms]``; ``current [nA]`` or
``input_spikes`` (the summed weights of the input spikes in each sample); ``voltage [mV]``
and/or ``spikes`` (the number of spikes in each sample), or for repeated trials
``voltage_1 [mV]``, ``voltage_2 [mV]``, ... and ``spikes_1``, ``spikes_2``, ... .

The time grid must be uniform; it may start anywhere (times are taken from its first
sample). Where spike times are missing they are found in the voltage, as upward crossings of
``spike_threshold``. :func:`save_recording` writes either format.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from pathlib import Path
from typing import NoReturn

import numpy as np
from brian2 import amp, mV, second, volt

from .hh import CurrentInput, SynapticInput
from .io import atomic_write
from .params import to_si, unit_by_name

__all__ = ["TraceData", "load_recording", "save_recording", "detect_spikes"]


@dataclasses.dataclass(frozen=True)
class TraceData:
    """A recording on one time grid, SI floats.

    Attributes
    ----------
    inputs : CurrentInput or SynapticInput
        The input, on the recording's grid, time 0 at its first sample.
    voltage : ndarray or None
        (trials, steps) absolute membrane voltage, volts.
    spikes : tuple of ndarray
        Spike times (seconds) of every trial.
    dt : float
        Sampling step, seconds.
    """

    inputs: CurrentInput | SynapticInput
    voltage: np.ndarray | None
    spikes: tuple[np.ndarray, ...]
    dt: float

    @property
    def steps(self) -> int:
        return int(round(self.inputs.duration / self.dt))

    @property
    def duration(self) -> float:
        return self.steps * self.dt

    @property
    def trials(self) -> int:
        return len(self.spikes)


def _fail(path, message) -> NoReturn:
    raise ValueError(f"{path}: {message}")


def _scaled(path, values, unit_text, key: str, unit):
    """``values`` in SI, checked finite, ``unit_text`` a Brian2 unit of the dimensions of ``unit``."""
    if unit_text is None:
        _fail(
            path,
            f"{key} needs a unit of {unit!r} (npz: add {key}_unit, e.g. '{_EXAMPLE[key]}'; "
            f"csv: write the header as '{key} [{_EXAMPLE[key]}]')",
        )
    try:
        factor = to_si(1.0 * unit_by_name(str(unit_text), key), unit, key)
    except (TypeError, ValueError) as error:
        _fail(path, f"{key}: {error}")
    values = np.asarray(values, float)
    if not np.all(np.isfinite(values)):
        _fail(path, f"{key} contains NaN or infinite values")
    return values * factor


_EXAMPLE = {"time": "ms", "current": "nA", "input_spike_times": "ms", "voltage": "mV", "spike_times": "ms"}
_UNITS = {"time": second, "current": amp, "input_spike_times": second, "voltage": volt, "spike_times": second}


def _read_npz(path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as data:
            raw = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:  # not a zip, truncated, bad member
        _fail(path, f"cannot read it as an npz archive ({type(error).__name__}: {error})")
    damaged = sorted(key for key, value in raw.items() if not isinstance(value, np.ndarray))
    if damaged:
        _fail(path, f"entries {damaged} are not numpy arrays: a damaged or foreign npz archive")
    known = set(_UNITS) | {f"{k}_unit" for k in _UNITS} | {"input_spike_weights", "spike_trials"}
    unknown = sorted(set(raw) - known)
    if unknown:
        _fail(path, f"unknown entries {unknown}; expected some of {sorted(known)}")
    out = {}
    for key, unit in _UNITS.items():
        if key in raw:
            text = raw.get(f"{key}_unit")
            out[key] = _scaled(path, raw[key], None if text is None else str(text), key, unit)
    for key in ("input_spike_weights", "spike_trials"):
        if key in raw:
            out[key] = np.asarray(raw[key])
    return out


_HEADER = re.compile(r"^\s*([A-Za-z_]+?)(?:_(\d+))?\s*(?:\[([^\]]*)\])?\s*$")


def _read_csv(path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        _fail(path, f"cannot read it as text ({type(error).__name__}: {error})")
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if len(rows) < 2:
        _fail(path, "needs a header row and at least one row of samples")
    header, body = rows[0], rows[1:]
    widths = {len(row) for row in body}
    if widths != {len(header)}:
        bad = next(k for k, row in enumerate(body, start=2) if len(row) != len(header))
        _fail(path, f"row {bad} has {len(body[bad - 2])} fields, the header {len(header)}")
    try:
        table = np.array(body, dtype=float)
    except ValueError as error:
        _fail(path, f"holds a field that is not a number ({error})")
    columns: dict[str, list[tuple]] = {}
    for k, name in enumerate(header):
        match = _HEADER.match(name)
        key = match.group(1) if match else None
        if match is None or key not in ("time", "current", "input_spikes", "voltage", "spikes"):
            _fail(
                path,
                f"unknown column {name!r}; expected time [unit], current [unit] or input_spikes, "
                f"voltage [unit] and/or spikes (with _1, _2, ... for trials)",
            )
        trial = int(match.group(2)) if match.group(2) else None
        columns.setdefault(key, []).append((trial, match.group(3), table[:, k], name))
    out = {}
    for key in ("time", "current"):
        if key in columns:
            if len(columns[key]) > 1:
                _fail(path, f"column {key} appears {len(columns[key])} times")
            _, unit_text, values, _ = columns[key][0]
            out[key] = _scaled(path, values, unit_text, key, _UNITS[key])
    if "input_spikes" in columns:
        out["input_spike_counts"] = _counts(path, columns["input_spikes"], "input_spikes", integer=False)[0]
    if "voltage" in columns:
        voltages = sorted(columns["voltage"], key=lambda c: c[0] or 0)
        out["voltage"] = np.stack([_scaled(path, v, unit_text, "voltage", volt) for _, unit_text, v, _ in voltages])
    if "spikes" in columns:
        out["spike_counts"] = np.stack(_counts(path, columns["spikes"], "spikes", integer=True))
    return out


def _counts(path, entries, key, integer: bool) -> list:
    entries = sorted(entries, key=lambda c: c[0] or 0)
    result = []
    for _, unit_text, values, name in entries:
        if unit_text:
            _fail(path, f"column {name!r}: {key} is a count per sample and takes no unit")
        if not np.all(np.isfinite(values)):
            _fail(path, f"column {name!r} contains NaN or infinite values")
        if integer and (np.any(values < 0) or np.any(values != np.round(values))):
            _fail(path, f"column {name!r} must hold whole numbers >= 0 (spikes per sample)")
        result.append(values)
    return result


def detect_spikes(voltage, dt: float, threshold: float) -> np.ndarray:
    """Times (seconds, sample k at k*dt) of the upward crossings of ``threshold`` in ``voltage``."""
    above = np.asarray(voltage) > threshold
    return (np.nonzero(above[1:] & ~above[:-1])[0] + 1) * dt


def load_recording(path, *, spike_threshold=-20 * mV) -> TraceData:
    """Read a recording from an ``.npz`` or ``.csv`` file (see the module docstring), with checks.

    Parameters
    ----------
    path : str or Path
    spike_threshold : Quantity
        Upward crossings of this voltage are spikes, where the file gives no spike times.

    Raises
    ------
    ValueError
        Naming the file and what is wrong with it.
    """
    path = Path(path)
    threshold = to_si(spike_threshold, volt, "spike_threshold", bare=False)
    if not path.is_file():
        _fail(path, "no such file")
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        _fail(path, f"unknown format {suffix or '(no extension)'!r}; expected .npz or .csv")
    raw = _read_npz(path) if suffix == ".npz" else _read_csv(path)

    if "time" not in raw:
        _fail(path, "has no time (the sample times)")
    time = raw["time"]
    if time.ndim != 1 or len(time) < 2:
        _fail(path, f"time must be 1-D with at least 2 samples, got shape {time.shape}")
    steps_dt = np.diff(time)
    dt = float(np.median(steps_dt))
    if not dt > 0 or np.any(np.abs(steps_dt - dt) > 1e-6 * dt + 1e-12):
        worst = int(np.argmax(np.abs(steps_dt - dt)))
        _fail(path, f"time must rise in equal steps; step {worst} is {steps_dt[worst]:g} s, the usual {dt:g} s")
    dt = float(f"{dt:.12g}")  # times written in ms and scaled to s: 9.99999999999e-05 is 0.1 ms
    steps, start = len(time), float(time[0])

    inputs_given = [k for k in ("current", "input_spike_times", "input_spike_counts") if k in raw]
    if len(inputs_given) != 1:
        _fail(path, f"needs exactly one input, an injected current or input spikes; found {inputs_given or 'none'}")
    if "current" in raw:
        current = raw["current"]
        if current.shape != (steps,):
            _fail(path, f"current has shape {current.shape}, time {time.shape}: they must match")
        inputs = CurrentInput(current, dt)
    else:
        if "input_spike_times" in raw:
            times = raw["input_spike_times"].ravel() - start
            weights = np.asarray(raw.get("input_spike_weights", np.ones(len(times))), float).ravel()
            if weights.shape != times.shape:
                _fail(path, f"input_spike_weights has {weights.size} entries, input_spike_times {times.size}")
            if not np.all(np.isfinite(weights)):
                _fail(path, "input_spike_weights contains NaN or infinite values")
            grid_index = _on_grid(path, times, dt, steps, "input_spike_times")
        else:
            counts = raw["input_spike_counts"]
            grid_index = np.nonzero(counts)[0]
            weights = counts[grid_index]
        # one train per distinct weight: what a reduced model sees is the summed weight per step
        unique, train = np.unique(weights, return_inverse=True)
        inputs = SynapticInput(
            indices=train.astype(np.int64), times=grid_index * dt, weights=unique, duration=steps * dt, grid=dt
        )

    voltage = raw.get("voltage")
    if voltage is not None:
        voltage = np.atleast_2d(voltage)
        if voltage.ndim != 2 or voltage.shape[1] != steps:
            _fail(path, f"voltage must be (steps,) or (trials, steps) with {steps} steps, got {raw['voltage'].shape}")
    if "spike_times" in raw:
        times = raw["spike_times"].ravel() - start
        trial_of = np.asarray(raw.get("spike_trials", np.zeros(len(times), int))).ravel()
        if trial_of.shape != times.shape or not np.issubdtype(trial_of.dtype, np.integer) or np.any(trial_of < 0):
            _fail(path, "spike_trials must hold one whole trial number >= 0 per spike time")
        trials = voltage.shape[0] if voltage is not None else int(trial_of.max(initial=0)) + 1
        if trial_of.size and trial_of.max() >= trials:
            _fail(path, f"spike_trials names trial {int(trial_of.max())}, but voltage has {trials} trials")
        if np.any(times < -0.5 * dt) or np.any(times >= steps * dt):
            _fail(path, f"spike_times must lie inside the recording, [{start:g}, {start + steps * dt:g}) s")
        spikes = tuple(np.sort(times[trial_of == k]) for k in range(trials))
    elif "spike_counts" in raw:
        counts = raw["spike_counts"]
        if voltage is not None and counts.shape[0] != voltage.shape[0]:
            _fail(path, f"spikes has {counts.shape[0]} trials, voltage {voltage.shape[0]}")
        spikes = tuple(np.repeat(np.arange(steps), c.astype(int)) * dt for c in counts)
    elif voltage is not None:
        spikes = tuple(detect_spikes(v, dt, threshold) for v in voltage)
    else:
        _fail(path, "needs a response: voltage and/or spike times")
    if not any(len(s) for s in spikes):
        _fail(path, "has no spikes (none given, none crossing spike_threshold in the voltage): nothing to fit")
    return TraceData(inputs=inputs, voltage=voltage, spikes=spikes, dt=dt)


def _on_grid(path, times, dt, steps, key) -> np.ndarray:
    index = np.rint(times / dt)
    if np.any(np.abs(times - index * dt) > 1e-3 * dt):
        _fail(path, f"{key} must lie on the time grid (multiples of {dt:g} s from the first sample)")
    if np.any(index < 0) or np.any(index >= steps):
        _fail(path, f"{key} must lie inside the recording")
    return index.astype(int)


def save_recording(path, data: TraceData, *, units=None) -> Path:
    """Write ``data`` to ``path`` (``.npz`` or ``.csv``, atomically), in ``units`` (key -> Brian2
    unit name; default ms, nA, mV). Spike times go to the csv as counts per sample."""
    path = Path(path)
    units = {
        "time": "ms",
        "current": "nA",
        "input_spike_times": "ms",
        "voltage": "mV",
        "spike_times": "ms",
        **(units or {}),
    }
    factor = {k: 1.0 / to_si(1.0 * unit_by_name(u, k), _UNITS[k], k) for k, u in units.items()}
    time = np.arange(data.steps) * data.dt
    if path.suffix.lower() == ".npz":
        arrays = {"time": time * factor["time"], "time_unit": units["time"]}
        if isinstance(data.inputs, CurrentInput):
            arrays.update(current=data.inputs.current * factor["current"], current_unit=units["current"])
        else:
            arrays.update(
                input_spike_times=data.inputs.times * factor["input_spike_times"],
                input_spike_times_unit=units["input_spike_times"],
                input_spike_weights=data.inputs.weights[data.inputs.indices],
            )
        if data.voltage is not None:
            arrays.update(voltage=data.voltage * factor["voltage"], voltage_unit=units["voltage"])
        arrays.update(
            spike_times=np.concatenate(data.spikes) * factor["spike_times"],
            spike_times_unit=units["spike_times"],
            spike_trials=np.concatenate([np.full(len(s), k) for k, s in enumerate(data.spikes)]).astype(int),
        )
        return atomic_write(path, lambda file: np.savez(file, **arrays))
    if path.suffix.lower() != ".csv":
        raise ValueError(f"path must end in .npz or .csv, got {path.name!r}")
    header = [f"time [{units['time']}]"]
    columns: list[np.ndarray] = [time * factor["time"]]
    if isinstance(data.inputs, CurrentInput):
        header.append(f"current [{units['current']}]")
        columns.append(data.inputs.current * factor["current"])
    else:
        counts = np.zeros(data.steps)
        np.add.at(counts, np.rint(data.inputs.times / data.dt).astype(int), data.inputs.weights[data.inputs.indices])
        header.append("input_spikes")
        columns.append(counts)
    several = data.trials > 1
    for k in range(data.trials):
        suffix = f"_{k + 1}" if several else ""
        if data.voltage is not None:
            header.append(f"voltage{suffix} [{units['voltage']}]")
            columns.append(data.voltage[k] * factor["voltage"])
        counts = np.bincount(np.rint(data.spikes[k] / data.dt).astype(int), minlength=data.steps)[: data.steps]
        header.append(f"spikes{suffix}")
        columns.append(counts)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(np.column_stack(columns).tolist())
    return atomic_write(path, lambda file: file.write(text.getvalue().encode("utf-8")))
