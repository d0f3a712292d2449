r"""Which width q of the rectangular surrogate trains a small VR-C-LIF network best.

A template task: each of 4 classes is one fixed random spike pattern (40 inputs,
60 steps, 6% dense); a sample is its class's pattern with 2% of the (step, input)
bits flipped. A 40-40-4 network (alpha = 0.3, tau_m 20 ms, tau_s 5 ms, dt 1 ms,
v_thr 1 V) is trained by plain SGD (learning rate 0.02 V per unit gradient,
minibatches of 16, 150 steps) on the tempotron loss with ``gradients.loss_and_grad``
for several widths q, and scored on held-out samples by exact match (every
output neuron's V_max > v_thr equal to the one-hot target). Same data, initial
weights and minibatch order for every q; three seeds.
"""

from __future__ import annotations

import numpy as np

from studies.cli import output_paths, study_parser, write_json

NAME = "surrogate_width"
WIDTHS = (0.25, 0.5, 1.0, 2.01)  # in units of v_thr; 2.01 is the STCA code's a = 2.01 theta


def template_task(seed: int, n_in: int = 40, steps: int = 60, classes: int = 4, samples: int = 256):
    """(spikes (samples, steps, n_in), one-hot targets (samples, classes)) of the template task."""
    rng = np.random.default_rng(seed)
    templates = rng.random((classes, steps, n_in)) < 0.06
    labels = rng.integers(0, classes, samples)
    spikes = templates[labels] ^ (rng.random((samples, steps, n_in)) < 0.02)
    return spikes, np.eye(classes, dtype=bool)[labels]


def train_and_score(q_over_v_thr: float, seed: int, sgd_steps: int, lr: float = 0.02, batch: int = 16) -> dict:
    from gradients import loss_and_grad, predict
    from gradients.forward import record_forward
    from vr_brian import VRParams

    params = VRParams(alpha=0.3)
    spikes, targets = template_task(seed)
    n_train = 192
    rng = np.random.default_rng(100 + seed)
    weights = [rng.normal(0.02, 0.08, (40, 40)), rng.normal(0.05, 0.1, (4, 40))]
    losses = []
    for _ in range(sgd_steps):
        pick = rng.integers(0, n_train, batch)
        value, grads = loss_and_grad(weights, spikes[pick], targets[pick], params, q=q_over_v_thr * params.v_thr)
        weights = [W - lr * g for W, g in zip(weights, grads, strict=True)]
        losses.append(value)
    held_out = record_forward(weights, spikes[n_train:], params).traces
    exact = (predict(held_out, params.v_thr) == targets[n_train:]).all(axis=1)
    return {
        "held_out_exact_match": float(exact.mean()),
        "final_train_loss": float(np.mean(losses[-10:])),
        "finite": bool(all(np.isfinite(W).all() for W in weights)),
    }


def main(argv=None) -> int:
    parser = study_parser(NAME, "Which surrogate width q trains a small network best")
    args = parser.parse_args(argv)
    results_path, _ = output_paths(NAME, args)
    seeds, sgd_steps = ((0,), 10) if args.quick else ((0, 1, 2), 150)
    runs = {str(width): [train_and_score(width, seed, sgd_steps) for seed in seeds] for width in WIDTHS}
    summary = {width: float(np.mean([r["held_out_exact_match"] for r in rs])) for width, rs in runs.items()}
    write_json(
        results_path,
        {
            "claim": "held-out exact-match accuracy against surrogate width q / v_thr",
            "seeds": list(seeds),
            "sgd_steps": sgd_steps,
            "runs": runs,
            "mean_exact_match": summary,
        },
    )
    print(f"template task, 40-40-4, alpha 0.3, SGD {sgd_steps} steps, seeds {list(seeds)}")
    print(f"{'q / v_thr':>10} {'exact match (mean)':>20} {'per seed':>24}")
    for width, rs in runs.items():
        print(f"{width:>10} {summary[width]:>20.3f} {str([round(r['held_out_exact_match'], 3) for r in rs]):>24}")
    print(f"wrote {results_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
