"""Faults: `vr-brian train` killed (SIGKILL) at random points and inside every file write, interrupted with
Ctrl-C, resumed from damaged checkpoints. A killed run resumed to its end equals the uninterrupted run bit for
bit, and leaves no stale or partial file."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vr_brian_app.train import main as train_main

ROOT = Path(__file__).resolve().parents[1]
RUN = ["builtin", "--no-progress", "--epochs", "3", "--train-samples", "24", "--test-samples", "8", "--steps", "20"]
RUN += ["--hidden", "6", "--inputs", "8", "--classes", "3", "--batch-size", "8"]
FILES = ("checkpoint.npz", "metrics.json", "learning_curve.png", "data.json")

# Runs `vr-brian` with os.replace or os.fsync patched to SIGKILL the process at the n-th write of one file:
# "replace" after its temporary file is complete, "fsync" with half of it written.
WRAPPER = r"""
import os, signal, sys
from pathlib import Path

kind, name, nth = (os.environ.get("VR_BRIAN_FAULT") or "::0").split(":")
seen = 0


def written(args):
    if kind == "replace":
        return Path(args[1]).name
    temporary = Path(os.readlink(f"/proc/self/fd/{args[0]}")).name  # .NAME.XXXXXX.tmp
    return temporary[1 : -len(".tmp")].rsplit(".", 1)[0] if temporary.endswith(".tmp") else ""


if kind:
    real = getattr(os, kind)

    def faulty(*args, **kwargs):
        global seen
        if written(args) == name:
            seen += 1
            if seen == int(nth):
                if kind == "fsync":
                    os.ftruncate(args[0], os.fstat(args[0]).st_size // 2)
                os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(os, kind, faulty)

from vr_brian_app.cli import main

sys.exit(main(sys.argv[1:]))
"""

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")


def _start(wrapper, out, fault="", **kwargs):
    env = dict(os.environ, VR_BRIAN_FAULT=fault, PYTHONPATH=str(ROOT))
    command = [sys.executable, str(wrapper), "train", *RUN, "--out", str(out), "--resume"]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _run(wrapper, out, fault=""):
    process = _start(wrapper, out, fault)
    _, err = process.communicate(timeout=300)
    return process.returncode, err.decode()


def _state(out: Path) -> dict:
    """What a finished run leaves: every array of the checkpoint, and the history without wall times."""
    with np.load(out / "checkpoint.npz") as archive:
        arrays = {name: archive[name] for name in archive.files if name != "meta"}
        meta = json.loads(str(archive["meta"]))

    def timeless(history):
        return [{k: v for k, v in record.items() if k != "seconds"} for record in history]

    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "arrays": arrays,
        "epoch": meta["epoch"],
        "rng": meta["rng_state"],
        "history": timeless(meta["history"]),
        "metrics": timeless(metrics["history"]),
        "data": (out / "data.json").read_text(),
    }


def _assert_same_run(out: Path, reference: dict):
    state = _state(out)
    assert state["arrays"].keys() == reference["arrays"].keys()
    for name, array in reference["arrays"].items():
        assert state["arrays"][name].dtype == array.dtype and np.array_equal(state["arrays"][name], array), name
    for key in ("epoch", "rng", "history", "metrics", "data"):
        assert state[key] == reference[key], key
    assert state["metrics"] == state["history"]  # metrics.json up to date with the checkpoint
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    leftovers = sorted(p.name for p in out.iterdir() if p.name not in FILES)
    assert leftovers == [], f"stale files: {leftovers}"


def test_killed_in_every_write_and_at_random_resumes_bit_identically(tmp_path):
    wrapper = tmp_path / "faulty_vr_brian.py"
    wrapper.write_text(WRAPPER)
    code, err = _run(wrapper, tmp_path / "reference")
    assert code == 0, err
    reference = _state(tmp_path / "reference")

    # killed inside each file write in turn (counts are per process: a resumed run first rewrites metrics.json)
    out = tmp_path / "faults"
    faults = [
        "replace:checkpoint.npz:2",  # epoch 1's checkpoint complete but not in place
        "fsync:metrics.json:2",  # epoch 1's metrics half written
        "fsync:checkpoint.npz:2",  # epoch 3's checkpoint half written
        "replace:metrics.json:2",  # the final epoch's metrics: checkpoint at epoch 3, metrics at 2
        "replace:learning_curve.png:1",
        "fsync:data.json:1",
    ]
    for fault in faults:
        code, err = _run(wrapper, out, fault)
        assert code == -signal.SIGKILL, f"{fault} was not reached: {err[-2000:]}"
        if fault.startswith("replace:learning_curve"):  # the run was complete; its metrics were brought up to date
            metrics = json.loads((out / "metrics.json").read_text())
            assert metrics["history"][-1]["epoch"] == 3
    code, err = _run(wrapper, out)
    assert code == 0, err
    _assert_same_run(out, reference)

    # killed at random moments (fixed seed), then resumed to the end
    out, rng = tmp_path / "random", random.Random(13)
    for _ in range(3):
        process = _start(wrapper, out)
        time.sleep(rng.uniform(0.5, 3.5))
        process.kill()
        process.communicate()
    code, err = _run(wrapper, out)
    assert code == 0, err
    _assert_same_run(out, reference)


def _wait_for(path: Path, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


def test_ctrl_c_ends_with_one_line_and_the_resume_command(tmp_path):
    wrapper = tmp_path / "faulty_vr_brian.py"  # not vr_brian.py: the script folder comes first on sys.path
    wrapper.write_text(WRAPPER)
    out = tmp_path / "run"
    long = RUN[: RUN.index("--epochs") + 1] + ["100000"] + RUN[RUN.index("--epochs") + 2 :]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, str(wrapper), "train", *long, "--out", str(out)]

    def default_sigint():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, preexec_fn=default_sigint)
    _wait_for(out / "checkpoint.npz", process)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    err = process.communicate(timeout=60)[1].decode()
    assert process.returncode == 130, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("vr-brian train: interrupted; the checkpoint of epoch") and last.endswith("--resume")
    assert "Traceback" not in err

    # SIGINT ignored by the parent: it stays ignored, without "'Handlers' object is not callable"
    def ignored_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    out2 = tmp_path / "ignored"
    command = [sys.executable, str(wrapper), "train", *long, "--out", str(out2)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, preexec_fn=ignored_sigint)
    _wait_for(out2 / "checkpoint.npz", process)
    process.send_signal(signal.SIGINT)
    time.sleep(1.0)
    running = process.poll() is None
    process.kill()
    assert running, process.communicate()[1].decode()[-3000:]
    err = process.communicate()[1].decode()
    assert "Handlers" not in err and "Traceback" not in err


@pytest.mark.parametrize("damage", ["truncated", "empty", "crc", "random", "digest"])
def test_resume_from_a_damaged_checkpoint_says_what_to_do(tmp_path, capsys, damage):
    out = tmp_path / "run"
    argv = [*RUN[:2], "--epochs", "1", *RUN[4:], "--out", str(out)]
    assert train_main(argv) == 0
    path = out / "checkpoint.npz"
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "random":
        path.write_bytes(np.random.default_rng(1).bytes(len(data)))
    else:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("weights_0.npy")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200  # inside the array's bytes
        if damage == "crc":
            path.write_bytes(data[:start] + bytes([data[start] ^ 0x01]) + data[start + 1 :])
        else:  # a consistent archive whose weights were changed after it was written
            with np.load(out / "checkpoint.npz") as archive:
                arrays = {name: archive[name] for name in archive.files}
            arrays["weights_0"] = arrays["weights_0"] + np.float32(1)
            np.savez(path, **arrays)
    (out / ".checkpoint.npz.abc123.tmp").write_bytes(b"partial")
    capsys.readouterr()
    assert train_main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot be used" in err and "delete the file" in err and "unsafely" not in err
    assert not (out / ".checkpoint.npz.abc123.tmp").exists()
