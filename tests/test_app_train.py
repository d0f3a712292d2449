"""``vr-brian train`` end to end on a tiny configuration, unit parsing, and its errors."""

import json
import warnings

import numpy as np
import pytest
from brian2 import second, volt

from gradients.checkpoint import load_checkpoint
from gradients.data import builtin_task, save_npz
from gradients.load import load_network
from vr_brian.params import parse_quantity
from vr_brian_app.cli import main as vr_brian_main
from vr_brian_app.train import main


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.mark.parametrize(
    "text, unit, expected",
    [
        ("20ms", second, 0.02),
        ("20 ms", second, 0.02),
        ("1V", volt, 1.0),
        ("500mV", volt, 0.5),
        ("2.5e-3 s", second, 2.5e-3),
        ("0.3", volt, 0.3),
        ("100 us", second, 1e-4),
        ("100µs", second, 1e-4),
        ("5 msecond", second, 5e-3),
    ],
)
def test_parse_quantity(text, unit, expected):
    assert parse_quantity(text, unit, "x") == pytest.approx(expected)


@pytest.mark.parametrize(
    "text, match",
    [("20 V", "tau_m must be in units of second"), ("fast", "cannot read"), ("3 parsecs", "unknown unit")],
)
def test_parse_quantity_errors(text, match):
    with pytest.raises(ValueError, match=match):
        parse_quantity(text, second, "tau_m")


def test_train_npz_end_to_end_and_resume(tmp_path, capsys):
    train_data, _ = builtin_task(3, n_in=12, steps=30, n_train=40, n_test=1, seed=1)
    data = save_npz(tmp_path / "data.npz", train_data)
    out = tmp_path / "run"
    argv = [
        str(data),
        "--out",
        str(out),
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "10",
        "--lr",
        "0.02",
        "--alpha",
        "0.3",
        "--tau-m",
        "20ms",
        "--tau-s",
        "5 ms",
        "--v-thr",
        "1V",
        "--dt",
        "1ms",
        "--no-progress",
    ]
    assert vr_brian_main(["train"] + argv) == 0
    printed = capsys.readouterr().out
    for name in ("checkpoint.npz", "metrics.json", "learning_curve.png"):
        assert (out / name).is_file() and str(out / name) in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [0, 1, 2]
    assert metrics["sizes"] == [12, 8, 3] and metrics["config"]["lr"] == 0.02
    assert len(metrics["history"][0]["test"]["per_class"]["f"]) == 3
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    # the same run cannot be started twice, but can be resumed and extended
    assert main(argv) == 2 and "--resume" in capsys.readouterr().err
    assert main(argv[: argv.index("--epochs") + 1] + ["3"] + argv[argv.index("--epochs") + 2 :] + ["--resume"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())["history"]) == 4
    assert not (out / "best.npz").exists()
    # --keep-best: the checkpoint of the epoch of highest test F beside the run's, and said where it is
    assert main(argv + ["--out", str(tmp_path / "kept"), "--keep-best"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "kept" / "metrics.json").read_text())
    best = 1 + max(range(2), key=lambda e: metrics["history"][1 + e]["test"]["micro"]["f"])
    assert str(tmp_path / "kept" / "best.npz") in printed and f"epoch {best})" in printed
    assert load_checkpoint(tmp_path / "kept" / "best.npz").epoch == best
    assert load_network(tmp_path / "kept" / "best.npz").epoch == best


def test_builtin_data_and_errors(tmp_path, capsys):
    assert (
        main(
            [
                "builtin",
                "--out",
                str(tmp_path / "b"),
                "--epochs",
                "1",
                "--classes",
                "2",
                "--inputs",
                "6",
                "--steps",
                "20",
                "--train-samples",
                "8",
                "--test-samples",
                "4",
                "--hidden",
                "4",
                "--multilabel",
                "--no-progress",
            ]
        )
        == 2
    )  # max_labels 3 > 2 classes: a clear error, no traceback
    assert "--classes >= 3" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.npz"), "--out", str(tmp_path / "m")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["builtin", "--out", str(tmp_path), "--tau-m", "1V"])
    assert "tau_m must be in units of second" in capsys.readouterr().err
    np.savez(tmp_path / "bad.npz", spikes=np.zeros((4, 5, 3)))
    assert main([str(tmp_path / "bad.npz"), "--out", str(tmp_path / "x")]) == 2
    assert "lacks the array" in capsys.readouterr().err


def test_demo_writes_its_outputs_and_reruns_without_training(tmp_path):
    from vr_brian_app.train import demo

    first = demo(tmp_path, quick=True)
    for key in ("checkpoint", "metrics", "learning_curve"):
        assert first[key].is_file()
    assert first["epochs"] == 3 and first["test_loss"] < first["initial_test_loss"]
    before = first["checkpoint"].stat().st_mtime_ns
    again = demo(tmp_path, quick=True)
    assert again["test_f"] == first["test_f"] and again["checkpoint"].stat().st_mtime_ns == before


def test_data_recipe_of_npz_files_rebuilds_the_split_and_notices_changes(tmp_path):
    from gradients.recipe import load_run_data

    data = builtin_task(2, n_in=6, steps=20, n_train=30, n_test=1, seed=4)[0]
    path = save_npz(tmp_path / "data.npz", data)
    out = tmp_path / "run"
    assert (
        main(
            [
                str(path),
                "--out",
                str(out),
                "--hidden",
                "4",
                "--epochs",
                "1",
                "--test-fraction",
                "0.3",
                "--data-seed",
                "5",
                "--no-progress",
            ]
        )
        == 0
    )
    train, test = load_run_data(out)
    expected_train, expected_test = data.split(0.3, seed=5)
    np.testing.assert_array_equal(train.spikes, expected_train.spikes)
    np.testing.assert_array_equal(test.targets, expected_test.targets)
    save_npz(path, data.subset(np.arange(20)))
    with pytest.raises(ValueError, match="has changed since the run"):
        load_run_data(out)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="does not exist any more"):
        load_run_data(out)


def test_remedies_and_variants_from_the_command_line(tmp_path):
    """The remedy and variant options reach the saved configuration; 'none' switches a remedy off."""
    from gradients.checkpoint import load_checkpoint
    from vr_brian_app.train import main

    assert (
        main(
            [
                "builtin",
                "--out",
                str(tmp_path / "a"),
                "--no-progress",
                "--epochs",
                "1",
                "--train-samples",
                "32",
                "--test-samples",
                "16",
                "--stability-bound",
                "none",
                "--recover",
                "0",
                "--clip-grad-norm",
                "0.5",
                "--variant",
                "split",
                "--e-inh=-2V",
                "--loss",
                "bce",
                "--readout-scale",
                "500mV",
            ]
        )
        == 0
    )
    saved = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    assert saved.config["stability_bound"] is None and saved.config["clip_grad_norm"] == 0.5
    assert saved.config["loss"] == "bce" and saved.config["readout_scale"] == 0.5
    assert saved.params.variant == "split" and saved.params.e_inh == -2.0
