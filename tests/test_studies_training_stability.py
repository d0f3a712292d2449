"""The training-stability study: its remedy settings, its plan, and the quick run end to end.

The quick configuration trains on the built-in synthetic timing task, so no sound bank is needed.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from gradients.checkpoint import load_checkpoint
from gradients.train import TrainConfig, evaluate
from studies.sweeps import load_split_data
from studies.training_stability.run import REMEDIES, main, plan, remedy_config
from vr_brian.params import VRParams


def test_remedy_settings():
    """'none' switches every remedy off, 'default' is what TrainConfig does, the others add one to 'none'."""
    off = remedy_config("none")
    assert off["stability_bound"] is None and off["recover"] == 0 and off["clip_grad_norm"] is None
    defaults = TrainConfig()
    assert remedy_config("default") == {key: getattr(defaults, key) for key in off}
    for name in set(REMEDIES) - {"none", "default"}:
        changed = {key for key, value in remedy_config(name).items() if value != off[key]}
        assert changed == set(REMEDIES[name]), name
        TrainConfig(**remedy_config(name))  # each is a valid configuration


def test_plan_gives_every_job_its_own_folder_and_the_stress_runs_their_settings(tmp_path):
    sources = {"instruments": ({"kind": "npz"}, {"dt": 0.003, "tau_m": 0.03, "tau_s": 0.0075})}
    jobs = plan(("remedies", "width"), sources, 3, 10, tmp_path, quick=False)
    folders = [job["run_dir"] for job in jobs]
    assert len(folders) == len(set(folders))
    stress = [job for job in jobs if job["config"]["lr"] == 0.01]
    assert stress and all(job["config"]["epochs"] == 5 and job["alpha"] == 0.3 for job in stress)
    default = [job for job in jobs if job["remedy"] == "default" and job["config"]["hidden"] == [700]]
    assert {job["alpha"] for job in default} == {-0.1, 0.0, 0.1, 0.2, 0.3, 0.4}
    assert all(job["config"]["lr"] == 0.003 for job in default if job not in stress)
    piano = plan(("remedies", "width"), {"piano": sources["instruments"]}, 3, 10, tmp_path, quick=False)
    # the piano runs at its own learning rate
    assert {job["part"] for job in piano} == {"remedies"} and all(job["config"]["lr"] == 0.001 for job in piano)
    for task_jobs, hidden_sizes, lr in ((piano, ([700],), 0.001), (jobs, ([700], [700, 700]), 0.003)):
        for hidden in hidden_sizes:  # the main comparison: every alpha, every seed
            main_runs = [job for job in task_jobs if job["remedy"] == "default" and job["config"]["hidden"] == hidden]
            main_runs = [job for job in main_runs if job["config"]["lr"] == lr]
            assert len(main_runs) == 6 * 3 and {job["config"]["seed"] for job in main_runs} == {0, 1, 2}
    selection = plan(("select",), {"piano": sources["instruments"]}, 3, 10, tmp_path, quick=False)
    assert sorted(job["config"]["lr"] for job in selection) == [0.001] * 6 + [0.003] * 6


@pytest.mark.long
def test_quick_run_end_to_end(tmp_path):
    """Every part on the synthetic task: the keys the results promise, the table, the figures, and each
    run's reported F equal to what its saved weights score when evaluated again here."""
    assert main(["--quick", "--out-dir", str(tmp_path), "--jobs", "1"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    runs = results["runs"]
    assert {run["part"] for run in runs} == {"select", "diagnose", "remedies", "width"}
    for run in runs:
        assert {"task", "alpha", "hidden", "remedy", "variant", "seed", "diverged", "test_f"} <= set(run)
        assert isinstance(run["hidden"], list) and isinstance(run["diverged"], bool)
    for row in results["table"]:
        mine = [
            r
            for r in runs
            if r["part"] in ("remedies", "width")
            and (r["alpha"], r["hidden"], r["remedy"], r["variant"], r["lr"])
            == (row["alpha"], row["hidden"], row["remedy"], row["variant"], row["lr"])
            and r["config_epochs"] == row["epochs"]
        ]
        assert row["seeds"] == len(mine) and row["diverged"] == sum(r["diverged"] for r in mine)
        assert row["test_f"]["mean"] == pytest.approx(np.mean([r["test_f"] for r in mine]))
    assert len(results["diagnosis"]) == sum(run["part"] == "diagnose" for run in runs)
    for name in results["figures"]:
        assert Path(name).read_bytes()[:4] == b"\x89PNG"
    sets = load_split_data(
        {
            "kind": "builtin",
            "options": {"n_classes": 4, "n_train": 64, "n_test": 32, "steps": 40, "seed": 0},
            "validation_fraction": 0.25,
        }
    )
    for run in [r for r in runs if r["part"] in ("remedies", "width") and not r["diverged"]][:4]:
        checkpoint = load_checkpoint(Path(run["run_dir"]) / "checkpoint.npz")
        variant = {"paper": {}, "bounded": {"variant": "bounded"}, "split": {"variant": "split"}}[run["variant"]]
        params = VRParams.from_si(alpha=run["alpha"], dt=0.001, tau_m=run["tau_m"], tau_s=run["tau_m"] / 4, **variant)
        assert evaluate(checkpoint.weights, sets["test"], params, margin=0.3)["micro"]["f"] == pytest.approx(
            run["test_f"]
        )
    # a second invocation of one part adds to its file instead of replacing the others
    assert main(["--quick", "--out-dir", str(tmp_path), "--jobs", "1", "--parts", "width"]) == 0
    again = json.loads((tmp_path / "results.json").read_text())
    assert len(again["runs"]) == len(runs)
