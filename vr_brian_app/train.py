"""``vr-brian train``: train a VR-C-LIF network on spike arrays with targets.

Usage::

    vr-brian train DATA.npz --hidden 64 --epochs 10 --lr 0.01 --optimizer adam \\
        --alpha 0.3 --tau-m 20ms --out runs/mine
    vr-brian train builtin --out runs/builtin            # the built-in timing task
    vr-brian train DATA.npz ... --out runs/mine --resume  # continue an interrupted run

``DATA.npz`` holds ``spikes`` (n, steps, n_in) bool or 0/1 and ``targets``
(n, n_classes) 0/1 (see :func:`gradients.data.load_npz`); a test set comes from
``--test TEST.npz`` or from a random ``--test-fraction`` of DATA. Quantities take
Brian2 units ("20ms", "1 V", "500 mV"); a number without a unit is refused.
``--resume`` needs the same arguments as the interrupted run (``--epochs`` may grow).
The output folder receives ``checkpoint.npz`` (after every epoch), ``metrics.json``,
``learning_curve.png`` and, once training ends, ``data.json``: the recipe that rebuilds the
run's training and test data (:func:`gradients.recipe.load_run_data`; the built-in task's arguments,
or the .npz files by path and SHA-256).

The output folder is checked before any work; temporary files of interrupted writes are removed and
``metrics.json`` is rewritten from the checkpoint on ``--resume``. A refused input or a failure is one
line on stderr (exit 2: refused input, 1: diverged or unwritable; ``--debug`` adds the traceback);
Ctrl-C exits 130 with the command that resumes the run (:mod:`vr_brian_app.failures`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vr_brian_app.arguments import quantity_arg

__all__ = ["main", "build_parser", "demo", "LEARNING_CURVE_NAME"]

LEARNING_CURVE_NAME = "learning_curve.png"


def build_parser() -> argparse.ArgumentParser:
    from gradients.optim import LR_DECAYS, OPTIMIZERS
    from gradients.tempotron import LOSSES, METHODS
    from gradients.train import DTYPES, FORWARDS, INITS, TrainConfig
    from vr_brian.params import VARIANTS

    defaults = TrainConfig()
    second, volt = "second", "volt"  # units by name: parsing them needs no Brian2

    def number_or_none(text):
        """A float, or None for 'none' (the remedy switched off)."""
        if str(text).strip().lower() == "none":
            return None
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None

    parser = argparse.ArgumentParser(
        prog="vr-brian train",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train a VR-C-LIF network on spike arrays with multi-hot targets. Quantities take Brian2 units "
        "('20ms', '1 V', '500 mV'); a number without one is refused. Writes checkpoint.npz (after every "
        "epoch), metrics.json and learning_curve.png into --out. --resume continues an interrupted run "
        "given the same arguments (--epochs may grow).",
    )
    parser.add_argument("data", help="an .npz file with 'spikes' and 'targets', or 'builtin' for the built-in task")
    parser.add_argument("--out", type=Path, required=True, help="output folder (checkpoint, metrics, figure)")
    parser.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is in --out")
    parser.add_argument(
        "--keep-best",
        action="store_true",
        help="also keep best.npz, the checkpoint of the epoch of highest test F (give a validation set as --test "
        "for early stopping)",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure, not only its message")
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
    net.add_argument("--tau-m", type=quantity_arg(second, "tau_m"), default="20ms", help="membrane time constant")
    net.add_argument("--tau-s", type=quantity_arg(second, "tau_s"), default="5ms", help="synaptic time constant")
    net.add_argument("--v-thr", type=quantity_arg(volt, "v_thr"), default="1V", help="threshold")
    net.add_argument("--dt", type=quantity_arg(second, "dt"), default="1ms", help="time step")
    net.add_argument(
        "--variant",
        choices=VARIANTS,
        default="paper",
        help="form of R(t): the paper's, R clipped to [0, r_max] (bounded), or inhibition with its own "
        "reversal potential e_inh (split)",
    )
    net.add_argument("--r-max", type=float, default=None, help="upper bound of R for --variant bounded (default 2)")
    net.add_argument(
        "--e-inh",
        type=quantity_arg(volt, "e_inh"),
        default=None,
        help="inhibitory reversal potential for --variant split, e.g. --e-inh=-3V (default -v_thr/alpha)",
    )
    opt = parser.add_argument_group("training")
    opt.add_argument("--epochs", type=int, default=10)
    opt.add_argument("--batch-size", type=int, default=32)
    opt.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    opt.add_argument("--lr", type=float, default=0.01, help="learning rate")
    opt.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    opt.add_argument(
        "--weight-decay",
        type=float,
        default=defaults.weight_decay,
        help="decoupled weight decay (AdamW's rule): each step shrinks the weights by 1 - lr * weight_decay",
    )
    opt.add_argument("--method", choices=METHODS, default=defaults.method, help="gradient method")
    opt.add_argument("--q", type=quantity_arg(volt, "q"), default=None, help="surrogate width (default: v_thr)")
    opt.add_argument("--margin", type=quantity_arg(volt, "margin"), default="0V", help="loss margin")
    opt.add_argument(
        "--positive-weight",
        type=float,
        default=1.0,
        help="weight of the errors of target outputs (raise it for many-output multi-label data)",
    )
    opt.add_argument(
        "--loss",
        choices=LOSSES,
        default=defaults.loss,
        help="loss of the maximal output voltage: tempotron (eq. 10), bce (sigmoid per output), "
        "cross_entropy (softmax over outputs, single-label)",
    )
    opt.add_argument(
        "--readout-scale",
        type=quantity_arg(volt, "readout_scale"),
        default=None,
        help="voltage scale of the cross entropies (default: v_thr)",
    )
    opt.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    opt.add_argument("--dtype", choices=DTYPES, default=defaults.dtype)
    opt.add_argument(
        "--forward",
        choices=FORWARDS,
        default=defaults.forward,
        help="forward passes from the numpy reference or a compiled Brian2 network",
    )
    opt.add_argument("--no-progress", action="store_true", help="no progress bar")
    opt.add_argument(
        "--init-mean-gain",
        type=float,
        default=defaults.init_mean_gain,
        help="g_mu of the initial weights, N(g_mu v_thr/n_pre, (g_sigma v_thr/sqrt(n_pre))^2)",
    )
    opt.add_argument("--init-std-gain", type=float, default=defaults.init_std_gain, help="g_sigma of the same")
    stable = parser.add_argument_group("remedies against the runaway of R(t) (the model stays the paper's)")
    stable.add_argument(
        "--init",
        choices=INITS,
        default=defaults.init,
        help="'stable': lower each layer's g_sigma to an a-priori loop gain of --stability-target",
    )
    stable.add_argument(
        "--stability-target", type=float, default=defaults.stability_target, help="loop gain of --init stable"
    )
    stable.add_argument(
        "--stability-bound",
        type=number_or_none,
        default=defaults.stability_bound,
        help="after each step, project every layer to loop gains within [-bound, bound] for every "
        "sample of the minibatch ('none': no projection)",
    )
    stable.add_argument(
        "--clip-grad-norm",
        type=number_or_none,
        default=defaults.clip_grad_norm,
        help="bound of the gradient's global L2 norm ('none': no clipping)",
    )
    stable.add_argument(
        "--warmup-epochs", type=float, default=defaults.warmup_epochs, help="linear learning-rate warm-up, epochs"
    )
    stable.add_argument(
        "--lr-decay",
        choices=LR_DECAYS,
        default=defaults.lr_decay,
        help="learning-rate decay after the warm-up (cosine: to 0 at the last epoch)",
    )
    stable.add_argument(
        "--lr-fan-in",
        type=int,
        default=defaults.lr_fan_in,
        help="scale each layer's learning rate by LR_FAN_IN / n_pre",
    )
    stable.add_argument(
        "--recover",
        type=int,
        default=defaults.recover,
        help="non-finite minibatches a run may recover from (the epoch restarts, lr lowered)",
    )
    stable.add_argument(
        "--recover-factor",
        type=float,
        default=defaults.recover_factor,
        help="factor on the learning rate at each recovery",
    )
    return parser


def _data_recipe(args) -> dict:
    """How to rebuild the data of a run (:mod:`gradients.recipe`): the built-in task's arguments, or the .npz
    files with their SHA-256."""
    from gradients.recipe import builtin_recipe, npz_recipe

    if args.data == "builtin":
        if args.multilabel and args.classes < 3:
            raise ValueError(
                f"--multilabel superposes the patterns of 1 to 3 classes per sample: it needs --classes >= 3, "
                f"got --classes {args.classes}"
            )
        return builtin_recipe(
            n_classes=args.classes,
            n_in=args.inputs,
            steps=args.steps,
            n_train=args.train_samples,
            n_test=args.test_samples,
            multilabel=args.multilabel,
            seed=args.data_seed,
        )
    return npz_recipe(args.data, args.test, test_fraction=args.test_fraction, seed=args.data_seed)


def run(args) -> dict:
    """Train as ``args`` (parsed by :func:`build_parser`) say; return the output paths and final numbers."""
    from gradients.recipe import DATA_RECIPE_NAME, data_from_recipe
    from gradients.train import BEST_NAME, CHECKPOINT_NAME, METRICS_NAME, TrainConfig, plot_history, train
    from vr_brian.io import check_output_dir, remove_temporaries, write_json

    run_files = (CHECKPOINT_NAME, METRICS_NAME, BEST_NAME, LEARNING_CURVE_NAME, DATA_RECIPE_NAME)
    from vr_brian.params import VRParams

    check_output_dir(args.out, "--out")  # before any work
    remove_temporaries(args.out, run_files)
    recipe = _data_recipe(args)
    train_data, test_data = data_from_recipe(recipe)
    params = VRParams.from_si(
        tau_m=args.tau_m,
        tau_s=args.tau_s,
        v_thr=args.v_thr,
        alpha=args.alpha,
        dt=args.dt,
        variant=args.variant,
        r_max=args.r_max,
        e_inh=args.e_inh,
    )
    config = TrainConfig(
        hidden=tuple(args.hidden),
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        method=args.method,
        q=args.q,
        margin=args.margin,
        positive_weight=args.positive_weight,
        loss=args.loss,
        readout_scale=args.readout_scale,
        seed=args.seed,
        dtype=args.dtype,
        forward=args.forward,
        init_mean_gain=args.init_mean_gain,
        init_std_gain=args.init_std_gain,
        init=args.init,
        stability_target=args.stability_target,
        stability_bound=args.stability_bound,
        clip_grad_norm=args.clip_grad_norm,
        warmup_epochs=args.warmup_epochs,
        lr_decay=args.lr_decay,
        lr_fan_in=args.lr_fan_in,
        recover=args.recover,
        recover_factor=args.recover_factor,
    )
    result = train(
        train_data,
        test_data,
        config,
        params,
        out_dir=args.out,
        resume=args.resume,
        progress=not args.no_progress,
        keep_best=args.keep_best,
    )
    sizes = (train_data.n_in,) + config.hidden + (train_data.n_classes,)
    curve = plot_history(
        result.history,
        Path(args.out) / LEARNING_CURVE_NAME,
        title=f"{'-'.join(map(str, sizes))} network, alpha={params.alpha:g}, "
        f"{config.optimizer} lr={config.lr:g}, {config.method}",
    )
    data = write_json(Path(args.out) / DATA_RECIPE_NAME, recipe)
    last = result.history[-1]
    return {
        "checkpoint": result.checkpoint,
        "metrics": result.metrics,
        "learning_curve": curve,
        "data": data,
        "epochs": last["epoch"],
        "test_f": last["test"]["micro"]["f"],
        "test_loss": last["test"]["loss"],
        "initial_test_loss": result.history[0]["test"]["loss"],
        "chance_f": last["test"]["chance_f"],
        "best_epoch": result.best_epoch,
        "best_test_f": result.history[result.best_epoch]["test"]["micro"]["f"],
        **({"best": Path(args.out) / BEST_NAME} if result.best_weights is not None else {}),
    }


def _resume_command(argv) -> str:
    import shlex

    argv = [a for a in argv if a != "--debug"]
    return shlex.join(["vr-brian", "train", *argv, *([] if "--resume" in argv else ["--resume"])])


def _interrupted(args, argv) -> str:
    """The one line of an interrupted run: what is kept, and the command that continues it."""
    from gradients.checkpoint import CheckpointError, load_checkpoint
    from gradients.train import CHECKPOINT_NAME

    path = Path(args.out) / CHECKPOINT_NAME
    try:
        kept = f"the checkpoint of epoch {load_checkpoint(path).epoch} in {str(args.out)!r} is kept"
    except (FileNotFoundError, CheckpointError):
        return f"vr-brian train: interrupted before the first checkpoint; start again with: {_resume_command(argv)}"
    return f"vr-brian train: interrupted; {kept}; continue with: {_resume_command(argv)}"


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether a KeyboardInterrupt lies in the chain of causes of ``error``."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def main(argv=None) -> int:
    """Entry point of ``vr-brian train``; returns the exit status (:mod:`vr_brian_app.failures`)."""
    from gradients.train import TrainingDiverged

    from .failures import EXPECTED, FAILED, INTERRUPTED, USAGE, fail, plain_interrupts

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = "vr-brian train"
    try:
        with plain_interrupts(import_brian2=args.forward == "brian2"):
            out = run(args)
    except KeyboardInterrupt:
        print(_interrupted(args, argv), file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        if _caused_by_interrupt(error):  # a library may wrap a KeyboardInterrupt in an error of its own
            print(_interrupted(args, argv), file=sys.stderr)
            return INTERRUPTED
        if isinstance(error, TrainingDiverged):
            return fail(prog, error, FAILED, args.debug, hint=" (training diverged)")
        if isinstance(error, EXPECTED):
            return fail(prog, error, USAGE, args.debug)
        if isinstance(error, OSError):
            return fail(prog, error, FAILED, args.debug)
        raise
    print(
        f"trained {out['epochs']} epochs: test loss {out['initial_test_loss']:.3f} -> {out['test_loss']:.3f} V, "
        f"test micro F {out['test_f']:.3f} (chance {out['chance_f']:.3f}; highest {out['best_test_f']:.3f}, "
        f"epoch {out['best_epoch']})"
    )
    for key in ("checkpoint", "metrics", "learning_curve", "data", "best"):
        if key in out:
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
