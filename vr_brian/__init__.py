"""vr_brian: the variable-resistance current-based LIF neuron (VR-C-LIF) in Brian2.

The neuron of Wen, Gu, Yan and Tang, "Deep Spiking Neural Network Using
Spatio-temporal Backpropagation with Variable Resistance", declared once in Brian2's
equation syntax (:mod:`vr_brian.equations`), the building blocks of one's own Brian2
network and networks built from weight matrices (:mod:`vr_brian.brian`), trained networks
loaded back into Brian2 (:mod:`vr_brian.load`), and a vectorised numpy reference of the same
iterative model (:mod:`vr_brian.reference`) that every backend matches.
"""

from .brian import BrianNetwork, VRNeuronGroup, add_u_prev_update, connect_layers, vr_neuron_group, vr_synapses
from .equations import CLIF, VR_CLIF, VR_CLIF_X
from .load import TrainedNetwork, load_network
from .params import VRParams, to_si
from .reference import forward
from .simulate import simulate
from .traces import NegativeResistanceWarning, RunawayWarning, Traces

__all__ = ["VRParams", "to_si", "simulate", "forward", "Traces", "BrianNetwork", "vr_neuron_group", "vr_synapses",
           "connect_layers", "add_u_prev_update", "VRNeuronGroup", "load_network", "TrainedNetwork", "VR_CLIF",
           "CLIF", "VR_CLIF_X", "NegativeResistanceWarning", "RunawayWarning"]

__version__ = "0.1.0"
