"""vr_brian: the variable-resistance current-based LIF neuron (VR-C-LIF) in Brian2.

The neuron of Wen, Gu, Yan and Tang, "Deep Spiking Neural Network Using
Spatio-temporal Backpropagation with Variable Resistance", declared once in Brian2's
equation syntax (:mod:`vr_brian.equations`), the building blocks of one's own Brian2
network and networks built from weight matrices (:mod:`vr_brian.brian`), and a vectorised
numpy reference of the same iterative model (:mod:`vr_brian.reference`) that every backend
matches. A network trained by ``vr-brian train`` comes back into Brian2 through
:func:`gradients.load_network`.

Importing the package loads no Brian2: the names that need it (the Brian2 builders, the
equations, :func:`simulate`) are imported on first use (PEP 562), so that the numeric code
(:class:`VRParams`, :func:`forward`, :class:`Traces`) serves array-only users and
:mod:`gradients` without Brian2's start-up time.
"""

from ._lazy import lazy_attributes
from .params import VRParams, to_si
from .reference import forward
from .traces import NegativeResistanceWarning, RunawayWarning, Traces

__version__ = "0.1.0"

#: The names that load Brian2, by the module that defines them (imported on first use).
_LAZY = {
    "BrianNetwork": "brian",
    "VRNeuronGroup": "brian",
    "add_u_prev_update": "brian",
    "connect_layers": "brian",
    "vr_neuron_group": "brian",
    "vr_synapses": "brian",
    "CLIF": "equations",
    "VR_CLIF": "equations",
    "VR_CLIF_X": "equations",
    "simulate": "simulation",
}

__all__ = [
    "VRParams",
    "to_si",
    "simulate",
    "forward",
    "Traces",
    "BrianNetwork",
    "vr_neuron_group",
    "vr_synapses",
    "connect_layers",
    "add_u_prev_update",
    "VRNeuronGroup",
    "VR_CLIF",
    "CLIF",
    "VR_CLIF_X",
    "NegativeResistanceWarning",
    "RunawayWarning",
]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
