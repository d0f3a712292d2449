"""Which form of the VR-C-LIF neuron a device gets.

``"standard"`` is :data:`vr_brian.equations.VR_CLIF` (a spike adds to Dm and Ds); ``"x"`` is its
X = Dm - Ds form, :data:`vr_brian.equations.VR_CLIF_X`, whose synapses write one postsynaptic
variable, as brian2genn requires; ``"auto"`` is ``"x"`` on the GeNN device and ``"standard"``
elsewhere. Both compute the same network (to rounding).
"""

from __future__ import annotations

from ..equations import neuron_model
from ..params import VRParams
from .device import is_genn_device

__all__ = ["FORMS", "neuron_form"]

#: Neuron forms: "x" is the GeNN-ready VR_CLIF_X; "standard" is VR_CLIF (Dm and Ds both jump);
#: "auto" is "x" on the GeNN device and "standard" elsewhere.
FORMS = ("auto", "x", "standard")


def neuron_form(form: str = "auto", device=None, params: VRParams | None = None) -> tuple:
    """The (model equations, on_pre statement) of a neuron form, for the variant of ``params``.

    ``"auto"`` is ``"x"`` when the device is GeNN, else ``"standard"``. The paper's model
    keeps the per-neuron parameter ``alpha`` even at alpha = 0 (0 gives the C-LIF neuron).
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if form == "auto":
        form = "x" if is_genn_device(device) else "standard"
    return neuron_model(VRParams() if params is None else params, form, clif_at_alpha0=False)
