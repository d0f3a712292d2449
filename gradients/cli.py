"""``vr-brian train``: train a VR-C-LIF network on spike arrays with targets.

Usage::

    vr-brian train DATA.npz --hidden 64 --epochs 10 --lr 0.01 --optimizer adam \\
        --alpha 0.3 --tau-m 20ms --out runs/mine
    vr-brian train builtin --out runs/builtin            # the built-in timing task
    vr-brian train DATA.npz ... --out runs/mine --resume  # continue an interrupted run

``DATA.npz`` holds ``spikes`` (n, steps, n_in) bool or 0/1 and ``targets``
(n, n_classes) 0/1 (see :func:`gradients.data.load_npz`); a test set comes from
``--test TEST.npz`` or from a random ``--test-fraction`` of DATA. Quantities take
Brian2 units ("20ms", "1 V", "500 mV"); a bare number is in SI units (s, V).
``--resume`` needs the same arguments as the interrupted run (``--epochs`` may grow).
The output folder receives ``checkpoint.npz`` (after every epoch), ``metrics.json``
and ``learning_curve.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vr_brian.params import parse_quantity

__all__ = ["main", "build_parser", "parse_quantity", "demo", "LEARNING_CURVE_NAME"]

LEARNING_CURVE_NAME = "learning_curve.png"


def build_parser() -> argparse.ArgumentParser:
    from brian2 import second, volt

    def quantity(unit, name):
        def parse(text):
            try:
                return parse_quantity(text, unit, name)
            except (ValueError, TypeError) as error:
                raise argparse.ArgumentTypeError(str(error)) from None
        parse.__name__ = name
        return parse

    parser = argparse.ArgumentParser(
        prog="vr-brian train", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train a VR-C-LIF network on spike arrays with multi-hot targets. Quantities take Brian2 units "
                    "('20ms', '1 V', '500 mV'); a bare number is in SI units. Writes checkpoint.npz (after every "
                    "epoch), metrics.json and learning_curve.png into --out. --resume continues an interrupted run "
                    "given the same arguments (--epochs may grow).")
    parser.add_argument("data", help="an .npz file with 'spikes' and 'targets', or 'builtin' for the built-in task")
    parser.add_argument("--out", type=Path, required=True, help="output folder (checkpoint, metrics, figure)")
    parser.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is in --out")
    data = parser.add_argument_group("data")
    data.add_argument("--test", type=Path, default=None, help="test set .npz (default: a split of DATA)")
    data.add_argument("--test-fraction", type=float, default=0.25, help="test share of DATA when --test is absent")
    data.add_argument("--classes", type=int, default=4, help="built-in task: number of classes")
    data.add_argument("--inputs", type=int, default=32, help="built-in task: input channels")
    data.add_argument("--steps", type=int, default=60, help="built-in task: time steps per sample")
    data.add_argument("--train-samples", type=int, default=256, help="built-in task: training samples")
    data.add_argument("--test-samples", type=int, default=128, help="built-in task: test samples")
    data.add_argument("--multilabel", action="store_true", help="built-in task: superpose 1-3 class patterns")
    data.add_argument("--data-seed", type=int, default=0, help="seed of the built-in task and of the split")
    net = parser.add_argument_group("network and neuron")
    net.add_argument("--hidden", type=int, nargs="+", default=[32], help="hidden layer sizes")
    net.add_argument("--alpha", type=float, default=0.3, help="variable-resistance coefficient (0: C-LIF)")
    net.add_argument("--tau-m", type=quantity(second, "tau_m"), default="20ms", help="membrane time constant")
    net.add_argument("--tau-s", type=quantity(second, "tau_s"), default="5ms", help="synaptic time constant")
    net.add_argument("--v-thr", type=quantity(volt, "v_thr"), default="1V", help="threshold")
    net.add_argument("--dt", type=quantity(second, "dt"), default="1ms", help="time step")
    opt = parser.add_argument_group("training")
    opt.add_argument("--epochs", type=int, default=10)
    opt.add_argument("--batch-size", type=int, default=32)
    opt.add_argument("--optimizer", choices=("sgd", "adam"), default="adam")
    opt.add_argument("--lr", type=float, default=0.01, help="learning rate")
    opt.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    opt.add_argument("--method", choices=("bptt", "paper"), default="bptt", help="gradient method")
    opt.add_argument("--q", type=quantity(volt, "q"), default=None, help="surrogate width (default: v_thr)")
    opt.add_argument("--margin", type=quantity(volt, "margin"), default="0V", help="loss margin")
    opt.add_argument("--positive-weight", type=float, default=1.0,
                     help="weight of the errors of target outputs (raise it for many-output multi-label data)")
    opt.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    opt.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    opt.add_argument("--forward", choices=("numpy", "brian2"), default="numpy",
                     help="forward passes from the numpy reference or a compiled Brian2 network")
    opt.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _load_data(args):
    from .data import builtin_task, load_npz

    if args.data == "builtin":
        return builtin_task(args.classes, n_in=args.inputs, steps=args.steps, n_train=args.train_samples,
                            n_test=args.test_samples, multilabel=args.multilabel, seed=args.data_seed)
    data = load_npz(args.data)
    if args.test is not None:
        return data, load_npz(args.test)
    return data.split(args.test_fraction, seed=args.data_seed)


def run(args) -> dict:
    """Train as ``args`` (parsed by :func:`build_parser`) say; return the output paths and final numbers."""
    from vr_brian.params import VRParams

    from .train import TrainConfig, plot_history, train

    train_data, test_data = _load_data(args)
    params = VRParams(tau_m=args.tau_m, tau_s=args.tau_s, v_thr=args.v_thr, alpha=args.alpha, dt=args.dt)
    config = TrainConfig(hidden=tuple(args.hidden), epochs=args.epochs, batch_size=args.batch_size,
                         optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, method=args.method,
                         q=args.q, margin=args.margin, positive_weight=args.positive_weight, seed=args.seed,
                         dtype=args.dtype, forward=args.forward)
    result = train(train_data, test_data, config, params, out_dir=args.out, resume=args.resume,
                   progress=not args.no_progress)
    sizes = (train_data.n_in,) + config.hidden + (train_data.n_classes,)
    curve = plot_history(result.history, Path(args.out) / LEARNING_CURVE_NAME,
                         title=f"{'-'.join(map(str, sizes))} network, alpha={params.alpha:g}, "
                               f"{config.optimizer} lr={config.lr:g}, {config.method}")
    last = result.history[-1]
    return {"checkpoint": result.checkpoint, "metrics": result.metrics, "learning_curve": curve,
            "epochs": last["epoch"], "test_f": last["test"]["micro"]["f"], "test_loss": last["test"]["loss"],
            "initial_test_loss": result.history[0]["test"]["loss"], "chance_f": last["test"]["chance_f"]}


def main(argv=None) -> int:
    """Entry point of ``vr-brian train``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        out = run(args)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as error:
        print(f"vr-brian train: error: {error}", file=sys.stderr)
        return 2
    print(f"trained {out['epochs']} epochs: test loss {out['initial_test_loss']:.3f} -> {out['test_loss']:.3f} V, "
          f"test micro F {out['test_f']:.3f} (chance {out['chance_f']:.3f})")
    for key in ("checkpoint", "metrics", "learning_curve"):
        print(f"{key:>15}: {out[key]}")
    return 0


def demo(out_dir, quick: bool = False) -> dict:
    """Train on the built-in task into ``out_dir``; return its output paths and final numbers.

    Runs 20 epochs of a 32-32-4 network at alpha = 0.3 (a few seconds on two cores;
    ``quick``: 3 epochs on a smaller set). Re-running into the same folder resumes
    the finished run, so it does no work twice.
    """
    out_dir = Path(out_dir)
    argv = ["builtin", "--out", str(out_dir), "--no-progress", "--epochs", "3" if quick else "20"]
    if quick:
        argv += ["--train-samples", "64", "--test-samples", "32"]
    if (out_dir / "checkpoint.npz").exists():
        argv.append("--resume")
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
