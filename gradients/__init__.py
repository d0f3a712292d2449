"""Gradients of the tempotron-like loss through the VR-C-LIF network.

:func:`loss_and_grad` gives the loss of MODEL.md eq. 10 and its exact reverse-mode
gradient with the rectangular surrogate (``method="bptt"``, :mod:`gradients.bptt`),
or the paper's literal reading of eqs. 13-19 (``method="paper"``,
:mod:`gradients.paper`); :func:`predict` is the network's answer V_max > v_thr.
"""

from .tempotron import METHODS, loss, loss_and_grad, predict, tempotron_loss
from .surrogate import DEFAULT_Q_OVER_V_THR, surrogate

__all__ = ["loss_and_grad", "loss", "predict", "tempotron_loss", "surrogate", "METHODS", "DEFAULT_Q_OVER_V_THR"]
