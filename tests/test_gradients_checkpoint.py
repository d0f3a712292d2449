"""Checkpoints: an exact round trip, and a crash while writing leaves the previous file intact and no debris."""

import numpy as np
import pytest

from gradients import checkpoint as ckpt
from gradients.checkpoint import Checkpoint, atomic_write, load_checkpoint, save_checkpoint
from gradients.optim import Adam
from vr_brian import VRParams


def make(epoch: int) -> Checkpoint:
    rng = np.random.default_rng(epoch)
    weights = (rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32))
    opt = Adam(lr=0.1)
    _, state = opt.step(weights, [np.ones_like(w) for w in weights], opt.init(weights))
    return Checkpoint(
        weights=weights,
        optimizer_state=state,
        epoch=epoch,
        config={"lr": 0.1, "hidden": [3]},
        params=VRParams(alpha=0.3),
        history=[{"epoch": epoch, "loss": 0.5, "nan": float("nan")}],
        rng_state=rng.bit_generator.state,
    )


def test_round_trip_is_exact(tmp_path):
    original = make(2)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "c.npz", original))
    for a, b in zip(loaded.weights, original.weights, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32
    assert loaded.optimizer_state.count == 1
    for a, b in zip(loaded.optimizer_state.v, original.optimizer_state.v, strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.params == original.params and loaded.epoch == 2 and loaded.config == original.config
    assert loaded.history == [{"epoch": 2, "loss": 0.5, "nan": None}]
    # the generator continues exactly where it stopped
    rng = np.random.default_rng()
    rng.bit_generator.state = loaded.rng_state
    again = np.random.default_rng(2)
    again.normal(size=(3, 4)), again.normal(size=(2, 3))
    assert rng.random() == again.random()


def test_crash_while_writing_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.npz", make(1))

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(ckpt.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, make(2))
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]
    assert load_checkpoint(path).epoch == 1


def test_atomic_write_new_file_crash_leaves_nothing(tmp_path):
    def fail(file):
        file.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(tmp_path / "sub" / "x.bin", fail)
    assert list((tmp_path / "sub").iterdir()) == []


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a vr_brian checkpoint"):
        load_checkpoint(tmp_path / "other.npz")
