"""Encoders from audio to spike arrays (steps, channels) for the network, and their pictures.

- :mod:`.gammatone`: ERB-spaced gammatone kernels.
- :mod:`.spikegram`: matching pursuit over a gammatone dictionary (Smith and Lewicki 2005).
- :mod:`.filterbank`: gammatone envelopes to level-crossing or threshold spikes.
- :mod:`.pursuit`: the compiled inner loop of matching pursuit.
- :mod:`.cached`: encoded spikes and spikegram atoms cached on disk.
- :mod:`.plot`: a clip, its cochleagram and its spikes in one figure.
"""

from .cached import atoms_cached, encode_cached
from .filterbank import FilterbankEncoder, gammatone_envelopes, level_crossings
from .gammatone import GammatoneDictionary, erb, erb_space, gammatone_kernels
from .spikegram import MAPPINGS, AtomSet, Spikegram, SpikegramEncoder, matching_pursuit, reconstruct, spike_raster

__all__ = [
    "SpikegramEncoder",
    "FilterbankEncoder",
    "encode_cached",
    "atoms_cached",
    "AtomSet",
    "MAPPINGS",
    "GammatoneDictionary",
    "gammatone_kernels",
    "erb",
    "erb_space",
    "matching_pursuit",
    "reconstruct",
    "spike_raster",
    "Spikegram",
    "gammatone_envelopes",
    "level_crossings",
]
