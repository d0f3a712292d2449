"""Every script in examples/ runs at small size and writes its figure; what each shows is checked."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from brian2 import prefs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

try:
    import brian2genn  # noqa: F401

    HAVE_BRIAN2GENN = True
except ImportError:
    HAVE_BRIAN2GENN = False


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_quick(name: str, out_dir: Path, *extra) -> dict:
    """``python examples/NAME.py --quick --out-dir OUT_DIR``; the code-generation target is left as it was."""
    target = prefs.codegen.target
    result = load(name).main(["--quick", "--out-dir", str(out_dir), *extra])
    assert prefs.codegen.target == target
    assert result["figure"] == out_dir / f"example_{name}.png"
    assert result["figure"].read_bytes()[:4] == b"\x89PNG" and result["figure"].stat().st_size > 20_000
    return result


def test_every_example_is_tested():
    tested = {name[len("test_") :].split("_example")[0] for name in globals() if name.startswith("test_")}
    assert {path.stem for path in EXAMPLES.glob("[!_]*.py")} <= tested


def test_single_neuron_example(tmp_path):
    """The probe PSP is w * (1 - alpha*U(t-1)/v_thr) at the voltage it meets, and R(t) says the same."""
    result = run_quick("single_neuron", tmp_path)
    alphas = np.array([0.0, 0.3])[:, None]
    expected = 1 - alphas * result["U_at_probe"] / result["params"].v_thr
    assert np.ptp(result["U_at_probe"]) > 1.5  # from well below rest to above threshold
    np.testing.assert_allclose(result["psp_amplitude"] / 0.2, expected, rtol=1e-9)
    np.testing.assert_allclose(result["R_at_probe"], expected, rtol=1e-12)


def test_own_network_example(tmp_path):
    result = run_quick("own_network", tmp_path)
    assert result["spikes_equal_reference"] and result["hidden_spike_count"] > 20
    assert result["max_abs_dU_vs_reference"] < 1e-9


def test_train_and_load_example(tmp_path):
    """Brian2 on the loaded network scores the test F training measured; a second call resumes the run."""
    result = run_quick("train_and_load", tmp_path, "--run-dir", str(tmp_path / "run"))
    assert result["brian2_test_f"] == pytest.approx(result["training_test_f"]) and result["epochs"] == 4
    for name in ("checkpoint.npz", "metrics.json", "data.json"):
        assert (tmp_path / "run" / name).is_file()


def test_genn_code_example(tmp_path):
    """GeNN's schedule equals the model at alpha = 0 and differs from it at alpha = 0.3."""
    result = run_quick("genn_code", tmp_path, "--project-dir", str(tmp_path / "project"))
    assert result["max_abs_dU"][0] < 1e-9 and result["spikes_shared"][0] == result["hidden_spikes"][0][0] > 0
    assert result["max_abs_dU"][1] > 1e-3
    assert (result["project"] is not None) == HAVE_BRIAN2GENN


@pytest.mark.skipif(
    not HAVE_BRIAN2GENN,
    reason="brian2genn is not installed: it needs its own environment "
    "(brian2 2.5.x, numpy < 2): make genn-env, make test-genn",
)
def test_genn_code_example_generates_the_project(tmp_path):
    """Runs in the GeNN environment, which has no matplotlib: code generation alone."""
    project = load("genn_code").generate_code(tmp_path / "project", quick=True)
    assert project.sizes == (20, 12, 3) and not project.built
    assert (tmp_path / "project" / "magicnetwork_model.cpp").is_file()


@pytest.mark.long
def test_fit_hh_example(tmp_path):
    """The fit improves on its first generation, and its training score is the fitted neuron's."""
    result = run_quick("fit_hh", tmp_path)
    fitted = result["fit"]
    assert len(result["hh"].spikes[0]) > 0 and len(fitted.history) == 2
    assert fitted.history[-1] <= fitted.history[0] and fitted.loss == pytest.approx(fitted.history[-1])
    assert -1 <= result["held_out_gamma"] <= 1 and result["held_out_voltage_error"] > 0
