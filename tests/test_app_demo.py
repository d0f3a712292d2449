import json

import pytest

from vr_brian_app.demo import main


@pytest.mark.long
def test_demo_writes_figure_and_numbers(tmp_path, capsys):
    assert main(["--out-dir", str(tmp_path), "--train-dir", str(tmp_path / "training"), "--quick"]) == 0
    numbers = json.loads((tmp_path / "demo_network.json").read_text())
    assert (tmp_path / "demo_network.png").stat().st_size > 10_000
    for values in numbers.values():
        assert values["max_abs_difference_brian2_vs_reference_V"] < 1e-9
        assert 0 < values["hidden_rate_per_step"] < 0.5
    out = capsys.readouterr().out
    assert str(tmp_path / "demo_network.png") in out
    assert (tmp_path / "training" / "learning_curve.png").exists() and "learning curve:" in out
