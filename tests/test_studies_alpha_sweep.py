"""The alpha-sweep study: its baseline's gradient and features, and the quick sweep end to end.

The quick configuration trains on the built-in synthetic timing task, so no sound bank or
fluidsynth is needed here.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from gradients.checkpoint import load_checkpoint
from gradients.data import SpikeData, builtin_task
from gradients.train import evaluate
from studies.alpha_sweep.baselines import (
    count_features,
    f_by_label_count,
    mlp_loss_and_grad,
    mlp_parameter_count,
    train_baseline,
)
from studies.alpha_sweep.run import main
from studies.sweeps import load_split_data
from vr_brian.params import VRParams


def test_count_features_against_a_loop():
    rng = np.random.default_rng(1)
    spikes = rng.random((3, 10, 2)) < 0.4
    features = count_features(spikes, bins=3)  # steps split 4 + 3 + 3
    edges = [(0, 4), (4, 7), (7, 10)]
    for n in range(3):
        for c in range(2):
            for b, (lo, hi) in enumerate(edges):
                assert features[n, c * 3 + b] == pytest.approx(np.log1p(spikes[n, lo:hi, c].sum()))
    with pytest.raises(ValueError, match="bins"):
        count_features(spikes, bins=11)


@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("hidden", [0, 3])
def test_mlp_gradient_matches_finite_differences(hidden, multi_label):
    rng = np.random.default_rng(hidden)
    n_in, n_out = 4, 3
    X = rng.normal(size=(7, n_in))
    labels = (rng.random((7, n_out)) < 0.4).astype(float) if multi_label else rng.integers(0, n_out, 7)
    theta = rng.normal(0, 0.5, mlp_parameter_count(n_in, hidden, n_out))
    _, grad = mlp_loss_and_grad(theta, X, labels, hidden, n_out, 0.1)
    eps, numeric = 1e-6, np.empty_like(theta)
    for k in range(theta.size):
        step = np.zeros_like(theta)
        step[k] = eps
        numeric[k] = (
            mlp_loss_and_grad(theta + step, X, labels, hidden, n_out, 0.1)[0]
            - mlp_loss_and_grad(theta - step, X, labels, hidden, n_out, 0.1)[0]
        ) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_baseline_learns_rate_coded_classes():
    # class c drives channel c at a high rate: separable from counts alone, unlearnable from nothing
    rng = np.random.default_rng(0)

    def make(n):
        labels = rng.integers(0, 3, n)
        rates = np.full((n, 1, 3), 0.05)
        rates[np.arange(n), 0, labels] = 0.4
        return SpikeData(rng.random((n, 50, 3)) < rates, np.eye(3, dtype=np.uint8)[labels])

    result = train_baseline(make(90), make(60), bins=2, hidden=4, seed=0)
    assert result["parameters"] == 6 * 4 + 4 + 4 * 3 + 3
    assert result["test"]["micro"]["f"] > 0.9 and not result["multi_label"]


def test_multi_label_baseline_learns_chords_and_reports_f_per_polyphony():
    # label k drives channel k: any subset of the 4 labels is decodable from the counts
    rng = np.random.default_rng(1)

    def make(n):
        targets = np.zeros((n, 4), dtype=np.uint8)
        for i, size in enumerate(rng.integers(1, 4, n)):
            targets[i, rng.choice(4, size, replace=False)] = 1
        return SpikeData(rng.random((n, 50, 4)) < 0.05 + 0.35 * targets[:, None, :], targets)

    result = train_baseline(make(150), make(90), bins=1, hidden=0, seed=0)
    assert result["multi_label"] and set(result["f_by_label_count"]) == {"1", "2", "3"}
    assert min(result["f_by_label_count"].values()) > 0.9


def test_f_by_label_count_against_hand_counts():
    targets = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]], dtype=bool)
    predictions = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0]], dtype=bool)
    # one label: tp 1, fp 1, fn 0 -> 2/3; two labels: tp 3, fp 0, fn 1 -> 6/7
    assert f_by_label_count(predictions, targets) == pytest.approx({"1": 2 / 3, "2": 6 / 7})


@pytest.mark.long
def test_quick_sweep_end_to_end(tmp_path):
    """Both stages: the selection by validation F, then the sweep with the chosen settings and baselines."""
    assert main(["--quick", "--out-dir", str(tmp_path), "--jobs", "2", "--alphas", "0,0.3"]) == 0
    selection = json.loads((tmp_path / "selection_instruments_paper.json").read_text())
    best = max(selection["candidates"], key=lambda c: c["validation_f_best"])
    assert selection["chosen"] == best["candidate"] and "test" not in selection["runs"][0]
    results = json.loads((tmp_path / "results_instruments_paper.json").read_text())
    assert [r["alpha"] for r in results["runs"]] == [0.0, 0.3]
    assert set(results["summary"]) == {"0", "0.3"}
    assert results["config"]["train"]["lr"] == selection["settings"]["lr"]
    best_alpha = results["best_alpha_by_validation"]
    assert results["summary"][f"{best_alpha:g}"]["validation_f"]["mean"] == max(
        r["validation_f"]["mean"] for r in results["summary"].values()
    )
    assert results["table_1"]["alpha = 0 (C-LIF)"]["f"]["mean"] == results["summary"]["0"]["f"]["mean"]
    assert {"count-feature MLP", "logistic regression"} <= set(results["baselines"])
    # a worker's reported F is what its saved weights score when evaluated again in this process
    sets = load_split_data(
        {
            "kind": "builtin",
            "options": {"n_classes": 4, "n_train": 64, "n_test": 32, "steps": 40, "seed": 0},
            "validation_fraction": 0.2,
        }
    )
    for run in results["runs"]:
        checkpoint = load_checkpoint(Path(run["run_dir"]) / "checkpoint.npz")
        assert checkpoint.epoch == results["config"]["train"]["epochs"]
        params = VRParams(alpha=run["alpha"])
        assert evaluate(checkpoint.weights, sets["test"], params)["micro"] == pytest.approx(run["test_last_epoch"])
        assert len(run["curve_validation_f"]) == checkpoint.epoch + 1
        # the reported test is that of the epoch of best validation F, whose weights the run kept
        best = run["best_epoch"]
        assert run["curve_validation_f"][best] == max(run["curve_validation_f"][1:])
        assert run["validation"]["micro"]["f"] == run["curve_validation_f"][best]
        stopped = load_checkpoint(Path(run["run_dir"]) / ("best.npz" if best < checkpoint.epoch else "checkpoint.npz"))
        assert stopped.epoch == best
        assert evaluate(stopped.weights, sets["test"], params)["micro"]["f"] == pytest.approx(run["test"]["micro"]["f"])
        assert evaluate(stopped.weights, sets["train"], params)["micro"] == pytest.approx(run["train_micro"])
    for name in ("alpha_sweep_instruments_f_vs_alpha.png", "alpha_sweep_instruments_paper_per_class.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    # a rerun resumes the finished checkpoints in one process and reports the same numbers
    first = [r["test"]["micro"]["f"] for r in results["runs"]]
    assert main(["--quick", "--out-dir", str(tmp_path), "--jobs", "1", "--alphas", "0,0.3", "--reuse-baselines"]) == 0
    rerun = json.loads((tmp_path / "results_instruments_paper.json").read_text())
    assert [r["test"]["micro"]["f"] for r in rerun["runs"]] == first
    assert rerun["baselines"] == results["baselines"]


def test_a_run_begun_without_its_best_weights_is_trained_again_to_its_best_epoch(tmp_path):
    """The sweep's fallback for a run whose folder holds no best.npz (begun before the weights were kept)."""
    from gradients.train import TrainConfig, train
    from studies.alpha_sweep.run import _job, run_job

    options = {"n_classes": 4, "n_train": 48, "n_test": 16, "steps": 60, "seed": 0}
    data = {"kind": "builtin", "options": options, "validation_fraction": 0.25}
    neuron = {"dt": 0.001, "tau_m": 0.02, "tau_s": 0.005}
    config = TrainConfig(hidden=(12,), epochs=5, batch_size=20, lr=0.02).as_dict()
    job = _job("sweep", 0.3, 0, data, neuron, config, tmp_path)
    sets, params = load_split_data(data), VRParams(alpha=0.3)
    plain = train(
        sets["train"], sets["validation"], TrainConfig(**config), params, out_dir=job["run_dir"], progress=False
    )
    assert plain.best_epoch < 5, "the test needs a run whose validation F peaks before its last epoch"
    out = run_job(job)
    replay = load_checkpoint(f"{job['run_dir']}_epoch_{plain.best_epoch}/checkpoint.npz")
    assert out["best_epoch"] == replay.epoch == plain.best_epoch
    assert evaluate(replay.weights, sets["test"], params)["micro"] == pytest.approx(out["test"]["micro"])
    assert out["validation"]["micro"]["f"] == plain.history[plain.best_epoch]["test"]["micro"]["f"]


@pytest.mark.long
def test_quick_selection_per_alpha_sets_each_alphas_candidate(tmp_path):
    """--select-alphas: the candidates tried at each alpha, the best by validation F chosen there, alpha 0's epoch
    budget for all; the sweep then trains each alpha with its own candidate."""
    common = ["--quick", "--out-dir", str(tmp_path), "--jobs", "2"]
    assert main([*common, "--stage", "select", "--select-alphas", "0.3"]) == 0
    selection = json.loads((tmp_path / "selection_instruments_paper.json").read_text())
    assert set(selection["by_alpha"]) == {"0", "0.3"} and selection["chosen"] == selection["by_alpha"]["0"]["chosen"]
    for alpha, row in selection["by_alpha"].items():
        best = max(row["candidates"], key=lambda c: c["validation_f_best"])
        assert row["chosen"] == best["candidate"] and row["settings"]["epochs"] == selection["settings"]["epochs"]
        assert {r["candidate"] for r in selection["runs"] if f"{r['alpha']:g}" == alpha} == {0, 1}
    assert main([*common, "--alphas", "0,0.3", "--no-baselines"]) == 0
    results = json.loads((tmp_path / "results_instruments_paper.json").read_text())
    for run in results["runs"]:
        assert run["candidate"] == selection["by_alpha"][f"{run['alpha']:g}"]["chosen"]
    assert results["config"]["candidate_by_alpha"] == {a: row["chosen"] for a, row in selection["by_alpha"].items()}


def test_select_alphas_outside_the_select_stage_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--quick", "--out-dir", str(tmp_path / "out"), "--select-alphas", "0.3"])
    assert "--select-alphas" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_baselines_are_reused_only_from_a_results_file_of_the_same_data_seeds_and_weight(tmp_path):
    from studies.alpha_sweep.run import reused_baselines

    data = {"kind": "npz", "train": "a/train.npz"}
    path = tmp_path / "results.json"
    assert reused_baselines(path, data, 3, {"positive_weight": 4.0}) is None  # no file
    lstm = [{"multi_label": True, "positive_weight": 4.0}]
    path.write_text(json.dumps({"config": {"data": data, "seeds": 3}, "baselines": {"LSTM": lstm}}))
    assert reused_baselines(path, data, 3, {"positive_weight": 4.0}) == {"LSTM": lstm}
    assert reused_baselines(path, dict(data, train="b/train.npz"), 3, {"positive_weight": 4.0}) is None
    assert reused_baselines(path, data, 1, {"positive_weight": 4.0}) is None
    assert reused_baselines(path, data, 3, {"positive_weight": 1.0}) is None
    # an LSTM of multi-label data trained before it took the positive weight is trained again
    old = [{"multi_label": True}]
    path.write_text(json.dumps({"config": {"data": data, "seeds": 3}, "baselines": {"LSTM": old}}))
    assert reused_baselines(path, data, 3, {"positive_weight": 1.0}) is None
    # single-label data: the weight plays no part
    single = {"MLP": [{"multi_label": False}], "LSTM": [{"multi_label": False, "positive_weight": None}]}
    path.write_text(json.dumps({"config": {"data": data, "seeds": 3}, "baselines": single}))
    assert reused_baselines(path, data, 3, {"positive_weight": 1.0}) == single


def test_welch_and_the_verdict_on_hand_numbers():
    from studies.alpha_sweep.run import verdict, welch

    assert welch([1.0, 1.1, 1.2], [0.0, 0.1, 0.2])["p_greater"] < 0.01
    assert welch([0.0, 0.1, 0.2], [1.0, 1.1, 1.2])["p_greater"] > 0.99
    summary = {
        a: {"f": {"values": list(v)}, "validation_f": {"mean": m}}
        for a, v, m in (
            (0.0, (0.80, 0.81, 0.82), 0.8),
            (0.1, (0.85, 0.86, 0.87), 0.9),
            (0.2, (0.5, 0.6, 0.7), 0.5),
            (0.4, (0.6, 0.61, 0.62), 0.6),
        )
    }
    claims = verdict(summary)
    assert claims["moderate_positive_alpha_beats_zero"]["alpha"] == 0.1
    assert claims["moderate_positive_alpha_beats_zero"]["holds"] and claims["alpha_0.4_hurts"]["holds"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--jobs", "0"], "--jobs must be >= 1"),
        (["--alphas", ","], "--alphas must list"),
        (["--seeds", "0"], "--seeds must be >= 1"),
    ],
)
def test_bad_arguments_are_refused(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["--quick", "--out-dir", str(tmp_path)] + argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("results*.json"))


def test_dask_scheduler_without_dask_is_a_clear_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if it were not installed
    with pytest.raises(SystemExit):
        main(["--quick", "--out-dir", str(tmp_path), "--dask-scheduler", "tcp://127.0.0.1:8786"])
    assert "dask.distributed, which is not installed" in capsys.readouterr().err


@pytest.mark.long
@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="needs dask[distributed] (test extra)")
def test_a_dask_cluster_runs_the_jobs_like_local_processes(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert (
            main(
                [
                    "--quick",
                    "--out-dir",
                    str(tmp_path / "dask"),
                    "--alphas",
                    "0,0.3",
                    "--dask-scheduler",
                    cluster.scheduler_address,
                ]
            )
            == 0
        )
    assert main(["--quick", "--out-dir", str(tmp_path / "local"), "--alphas", "0,0.3"]) == 0
    on_dask, local = (
        json.loads((tmp_path / name / "results_instruments_paper.json").read_text()) for name in ("dask", "local")
    )
    assert on_dask["config"]["dask_scheduler"].startswith("tcp://")
    for remote, here in zip(on_dask["runs"], local["runs"], strict=True):
        assert remote["test"]["micro"] == here["test"]["micro"]
        assert remote["curve_validation_f"] == here["curve_validation_f"]


def test_binned_counts_against_a_loop():
    from studies.alpha_sweep.baselines import binned_counts

    spikes = np.random.default_rng(2).random((2, 11, 3)) < 0.5
    counts = binned_counts(spikes, 4)  # bins of 4, 4 and 3 steps
    assert counts.shape == (2, 3, 3) and counts.dtype == np.float32
    for n in range(2):
        for b, (lo, hi) in enumerate([(0, 4), (4, 8), (8, 11)]):
            for c in range(3):
                assert counts[n, b, c] == pytest.approx(np.log1p(spikes[n, lo:hi, c].sum()))


def test_lstm_baseline_learns_a_timing_task():
    """The built-in task tells its classes apart by spike timing only: an LSTM over time bins separates
    them (a count-per-channel model could not), and the tested weights are those of its best epoch."""
    pytest.importorskip("torch")
    from studies.alpha_sweep.baselines import lstm_parameter_count, train_lstm

    train, test = builtin_task(3, n_in=12, steps=40, n_train=90, n_test=60, seed=3)
    train, validation = train.split(0.3, seed=0)
    result = train_lstm(train, validation, test, hidden=16, bin_steps=4, seed=0, epochs=15, lr=0.01)
    assert result["test"]["micro"]["f"] > 0.8
    assert result["validation_f"] == max(result["curve_validation_f"])
    assert result["parameters"] == lstm_parameter_count(12, 16, 3) == 4 * 16 * (12 + 16 + 2) + 16 * 3 + 3


def test_lstm_positive_weight_makes_rare_labels_answered():
    """Chords of 1 or 2 of 10 labels: with the positive terms weighted up the LSTM answers more labels
    (recall rises), where unweighted binary cross-entropy leans towards answering none."""
    pytest.importorskip("torch")
    from studies.alpha_sweep.baselines import train_lstm

    rng = np.random.default_rng(4)

    def make(n):
        targets = np.eye(10, dtype=np.uint8)[rng.integers(0, 10, n)]
        targets[: n // 2] |= np.eye(10, dtype=np.uint8)[rng.integers(0, 10, n // 2)]
        return SpikeData(rng.random((n, 20, 10)) < 0.05 + 0.1 * targets[:, None, :], targets)

    train, validation, test = make(120), make(60), make(60)
    recall = {
        weight: train_lstm(train, validation, test, hidden=8, bin_steps=5, seed=0, epochs=3, positive_weight=weight)[
            "test"
        ]["micro"]["recall"]
        for weight in (1.0, 9.0)
    }
    assert recall[9.0] > recall[1.0]
