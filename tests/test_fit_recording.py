"""Recordings in files (npz, csv): round trips, damaged or inconsistent files refused with clear messages,
and ``vr-brian fit`` end to end on a Hodgkin-Huxley run saved by the test."""

import json
import re
import zipfile

import numpy as np
import pytest
from brian2 import ms, nA, prefs, second

from vr_brian.datafile import TraceData, detect_spikes, load_recording, save_recording
from vr_brian.fit_recording import FIGURE_NAME, RESULTS_NAME, fit_recording
from vr_brian.fitting import simulate_candidates, theta_from_params
from vr_brian.hh import WANG_BUZSAKI, ou_current, poisson_input, resting_potential, run_hh
from vr_brian.spike_metrics import gamma_factor
from vr_brian_app.cli import main as cli_main


@pytest.fixture(scope="module")
def hh_recording():
    """Wang-Buzsaki under a fluctuating current, 0.25 s, two identical trials (a deterministic neuron);
    rk4 at 0.1 ms gives its spike times to 0.1 ms of 0.05 ms here, and keeps the test short."""
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    try:
        current = ou_current(0.0 * nA, 0.25 * nA, 5 * ms, 0.25 * second, grid=0.1 * ms, seed=3)
        hh = run_hh(WANG_BUZSAKI, current, dt=0.1 * ms, record_dt=0.1 * ms)
    finally:
        prefs.codegen.target = previous
    v = hh.v + resting_potential(WANG_BUZSAKI)
    return TraceData(inputs=current, voltage=np.vstack([v, v]), spikes=hh.spikes * 2, dt=1e-4)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_round_trip(tmp_path, hh_recording, suffix):
    path = save_recording(tmp_path / f"wb{suffix}", hh_recording)
    data = load_recording(path)
    assert data.trials == 2 and data.steps == hh_recording.steps and data.dt == pytest.approx(1e-4)
    np.testing.assert_allclose(data.inputs.current, hh_recording.inputs.current, rtol=1e-12, atol=1e-22)
    np.testing.assert_allclose(data.voltage, hh_recording.voltage, rtol=0, atol=1e-12)
    for got, sent in zip(data.spikes, hh_recording.spikes, strict=True):
        assert len(got) == len(sent) > 3
        np.testing.assert_allclose(got, sent, atol=0.5e-4 + 1e-12)  # csv keeps spikes per 0.1 ms sample


def test_spike_inputs_and_detected_spikes(tmp_path):
    """Input spike times with weights survive both formats as the same per-step drive; without spike
    times, spikes are the upward crossings of spike_threshold."""
    inputs = poisson_input(3, 2, rate=50.0, duration=0.2 * second, grid=0.1 * ms, seed=1)
    v = np.full(2000, -0.065)
    v[[300, 301, 900]] = 0.01
    data = TraceData(inputs=inputs, voltage=v[None, :], spikes=(np.array([0.03, 0.09]),), dt=1e-4)
    np.testing.assert_allclose(detect_spikes(v, 1e-4, -0.02), [0.03, 0.09])
    drive = np.zeros(2000)
    np.add.at(drive, np.rint(inputs.times / 1e-4).astype(int), inputs.weights[inputs.indices])
    for suffix in (".npz", ".csv"):
        back = load_recording(save_recording(tmp_path / f"s{suffix}", data))
        got = np.zeros(2000)
        np.add.at(got, np.rint(back.inputs.times / 1e-4).astype(int), back.inputs.weights[back.inputs.indices])
        np.testing.assert_allclose(got, drive)
    np.savez(
        tmp_path / "nospikes.npz",
        time=np.arange(2000) * 0.1,
        time_unit="ms",
        current=np.zeros(2000),
        current_unit="nA",
        voltage=v * 1e3,
        voltage_unit="mV",
    )
    np.testing.assert_allclose(load_recording(tmp_path / "nospikes.npz").spikes[0], [0.03, 0.09])


def _npz(path, **changes):
    arrays = {
        "time": np.arange(100) * 0.1,
        "time_unit": "ms",
        "current": np.zeros(100),
        "current_unit": "nA",
        "voltage": np.full(100, -65.0),
        "voltage_unit": "mV",
        "spike_times": np.array([2.0, 5.0]),
        "spike_times_unit": "ms",
    }
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"current_unit": None}, "current needs a unit of amp"),
        ({"voltage_unit": "nA"}, "voltage: .*must be in units of volt"),
        ({"time_unit": "parsec"}, "unknown unit 'parsec'"),
        ({"time": np.r_[np.arange(99) * 0.1, 20.0]}, "time must rise in equal steps"),
        ({"current": np.r_[np.zeros(99), np.nan]}, "current contains NaN"),
        ({"current": np.zeros(90)}, r"current has shape \(90,\), time \(100,\)"),
        ({"current": None}, "needs exactly one input"),
        ({"input_spike_times": np.array([1.0]), "input_spike_times_unit": "ms"}, "needs exactly one input"),
        ({"voltage": np.zeros((2, 80))}, "voltage must be"),
        ({"spike_times": np.array([2.0, 50.0])}, "spike_times must lie inside the recording"),
        ({"spike_trials": np.array([0, 3])}, "spike_trials names trial 3, but voltage has 1 trials"),
        ({"spike_times": np.array([]), "voltage": np.full(100, -65.0)}, "has no spikes"),
        ({"voltage": None, "voltage_unit": None, "spike_times": None, "spike_times_unit": None}, "needs a response"),
        ({"extra": np.zeros(3)}, "unknown entries"),
    ],
)
def test_inconsistent_npz_refused(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        load_recording(_npz(tmp_path / "bad.npz", **changes))


def test_damaged_files_refused(tmp_path):
    good = _npz(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="cannot read it as an npz archive"):
        load_recording(truncated)
    with zipfile.ZipFile(tmp_path / "odd.npz", "w") as archive:
        archive.writestr("time.npy", b"not an array")
    with pytest.raises(ValueError, match=r"entries \['time'\] are not numpy arrays"):
        load_recording(tmp_path / "odd.npz")
    cases = {
        "ragged.csv": "time [ms],current [nA],spikes\n0,0,0\n0.1,0\n",
        "words.csv": "time [ms],current [nA],spikes\n0,0,0\n0.1,zero,1\n",
        "nounit.csv": "time,current [nA],spikes\n0,0,0\n0.1,0,1\n",
        "column.csv": "time [ms],current [nA],temperature [K]\n0,0,0\n0.1,0,1\n",
        "halfspike.csv": "time [ms],current [nA],spikes\n0,0,0\n0.1,0,0.5\n",
        "header.csv": "time [ms]\n",
    }
    messages = {
        "ragged.csv": "row 3 has 2 fields",
        "words.csv": "not a number",
        "nounit.csv": "time needs a unit",
        "column.csv": "unknown column 'temperature \\[K\\]'",
        "halfspike.csv": "whole numbers",
        "header.csv": "header row and at least one row",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=messages[name]):
            load_recording(tmp_path / name)
    (tmp_path / "data.txt").write_text("1,2\n")
    with pytest.raises(ValueError, match="expected .npz or .csv"):
        load_recording(tmp_path / "data.txt")
    with pytest.raises(ValueError, match="no such file"):
        load_recording(tmp_path / "missing.npz")


def test_fit_recording_scores_the_held_out_part_as_its_parts_say(hh_recording):
    """The held-out Gamma and rates in the results equal Gamma recomputed here from the fitted
    parameters (the model re-simulated on the whole input, its spikes after the split); with two
    identical trials the intrinsic reliability is 1 and the normalised Gamma equals Gamma."""
    results, recording, split = fit_recording(
        hh_recording, "vrclif", train_fraction=0.5, hold=True, popsize=2, maxiter=2, target="numpy"
    )
    theta = theta_from_params("vrclif", results["params_si"], "current")
    again = simulate_candidates("vrclif", theta[None, :], hh_recording.inputs, dt=0.1 * ms)
    t_split = split * hh_recording.dt
    held_out = hh_recording.duration - t_split
    model = again.spikes[0][again.spikes[0] >= t_split] - t_split
    data = hh_recording.spikes[0][hh_recording.spikes[0] >= t_split] - t_split
    assert results["test_gamma"] == pytest.approx(gamma_factor(model, data, held_out))
    assert results["intrinsic_reliability"] == pytest.approx(1.0)
    assert results["test_normalised_gamma"] == pytest.approx(results["test_gamma"])
    assert results["test_rate_model_Hz"] == pytest.approx(len(model) / held_out)
    assert results["params"]["R_in"]["unit"] == "Mohm" and results["v_rest_fitted"]
    assert results["test_voltage_error_mV"] > 0 and results["train_voltage_error_mV"] > 0
    with pytest.raises(ValueError, match="train_fraction must lie in"):
        fit_recording(hh_recording, train_fraction=1.0)
    with pytest.raises(ValueError, match="hold applies to 'vrclif' and 'clif'"):
        fit_recording(hh_recording, "adex", hold=True)
    with pytest.raises(ValueError, match="dt must divide"):
        fit_recording(hh_recording, dt=0.3 * ms)
    with pytest.raises(ValueError, match="held-out part .* holds no spike"):
        spikes = tuple(s[s < 0.1] for s in hh_recording.spikes)
        fit_recording(TraceData(hh_recording.inputs, hh_recording.voltage, spikes, hh_recording.dt), train_fraction=0.5)


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_vr_brian_fit_command(tmp_path, hh_recording, suffix, capsys):
    path = save_recording(tmp_path / f"wb{suffix}", hh_recording)
    out = tmp_path / "out"
    assert (
        cli_main(
            [
                "fit",
                str(path),
                "--model",
                "clif",
                "--out",
                str(out),
                "--popsize",
                "2",
                "--maxiter",
                "1",
                "--v-rest=-64mV",
                "--target",
                "numpy",
            ]
        )
        == 0
    )
    results = json.loads((out / RESULTS_NAME).read_text())
    assert results["file"] == str(path) and results["model"] == "clif" and not results["v_rest_fitted"]
    assert results["v_rest_mV"] == pytest.approx(-64.0) and results["trials"] == 2
    assert -1 <= results["test_gamma"] <= 1 and results["simulations"] == 2
    assert (out / FIGURE_NAME).stat().st_size > 10_000
    assert "held-out Gamma" in capsys.readouterr().out


def test_vr_brian_fit_refuses_bad_arguments(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 broken")
    assert cli_main(["fit", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read it as an npz archive" in capsys.readouterr().err
    for option, value, message in (
        ("--v-rest=-65", None, "needs a Brian2 unit of volt"),
        ("--dt", "5 mV", "dt must be in units of second"),
        ("--train-fraction", "1.5", "train-fraction must lie in \\(0, 1\\)"),
        ("--popsize", "1", "popsize must be >= 2"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["fit", str(bad), "--out", str(tmp_path / "o"), option] + ([value] if value else []))
        assert exit_info.value.code == 2
        assert re.search(message, capsys.readouterr().err), (option, value)
    assert not (tmp_path / "o").exists()
