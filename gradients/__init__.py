"""Gradients of the tempotron-like loss through the VR-C-LIF network.

:func:`loss_and_grad` gives the loss of MODEL.md eq. 10 and its exact reverse-mode
gradient with the rectangular surrogate (``method="bptt"``, :mod:`gradients.bptt`),
or the paper's literal reading of eqs. 13-19 (``method="paper"``,
:mod:`gradients.paper`); :func:`predict` is the network's answer V_max > v_thr.
:func:`gradients.train.train` trains a network, :func:`load_network` brings a trained one back
into Brian2.

Importing the package loads neither Brian2 nor numba: the losses and gradients run on plain
arrays; the compiled kernels load on first use (:data:`gradients.forward.COMPILED`), Brian2
only where a run asks for it (a Brian2 forward pass, a network built from a trained run).
"""

from .load import TrainedNetwork, load_network
from .surrogate import DEFAULT_Q_OVER_V_THR, surrogate
from .tempotron import METHODS, loss, loss_and_grad, predict, tempotron_loss

__all__ = [
    "loss_and_grad",
    "loss",
    "predict",
    "tempotron_loss",
    "surrogate",
    "METHODS",
    "DEFAULT_Q_OVER_V_THR",
    "load_network",
    "TrainedNetwork",
]
