"""The training-step benchmark runs end to end in its quick configuration and writes its results."""

import json

from studies.benchmark_train_step.run import dense_flop, main


def test_flop_count_of_the_benchmark_network():
    # 2 * 150 * (2 * 384 * 700 + 3 * 700 * 10): the ~168 MFLOP per sample the README states
    assert dense_flop((384, 700, 10), 150) == 167_580_000


def test_quick_run_writes_results(tmp_path):
    assert main(["--quick", "--repeats", "1", "--no-torch", "--out-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["cases"]) == {"dense", "sparse"}
    for case in results["cases"].values():
        assert set(case["ms_per_sample"]) == {"numpy float32", "numpy float64"}
        assert all(t > 0 for t in case["ms_per_sample"].values())
        assert max(case["agreement_with_numpy_float64"]["numpy float32"]["grad_rel"]) < 1e-3
        memory = case["memory_per_sample_bytes"]
        assert memory["minimum_float32"] <= memory["recording_float32"]
