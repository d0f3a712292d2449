r"""The inner loop of matching pursuit as one compiled (numba) kernel.

It performs the greedy selection of :func:`vr_brian.encoding.spikegram.matching_pursuit` on the
correlations :math:`C[c, p] = \langle r, k_c(\cdot - p)\rangle` of all channels and start
positions, computed once by FFT. What makes it fast:

- Only the lags where two kernels overlap are touched: selecting atom :math:`(s, p, a)` changes
  channel :math:`c` at positions :math:`p - L_c < q < p + L_s` only, by
  :math:`-a X_{s,c}(q - p)`, where :math:`L` are the kernels' supports
  (:meth:`~vr_brian.encoding.gammatone.GammatoneDictionary.support_cross_correlations`): the
  mean support instead of the padded length of every kernel, with nothing dropped.
- The argmax is kept in two levels of maxima: per channel and block of :data:`BLOCK` positions,
  and per block over channels. After an update only the touched blocks are recomputed, so a
  selection scans the block maxima (positions / :data:`BLOCK`) and one block, not all
  channels and positions.

Exact ties resolve to the first block of :data:`BLOCK` positions, then the lowest channel, then
the earliest position. The arithmetic is the numpy path's (no fastmath: the same products and
subtractions in the same precision), so it selects the same atoms with the same amplitudes.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["COMPILED", "BLOCK", "pursue"]

#: Positions per block of the two-level argmax.
BLOCK = 64


def _compiled_kernels():
    """numba's ``njit`` when numba is installed and ``VR_BRIAN_NO_NUMBA`` is unset (or "0"), else None."""
    if os.environ.get("VR_BRIAN_NO_NUMBA", "0") not in ("", "0"):
        return None
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(cache=True, nogil=True)


_njit = _compiled_kernels()

#: Whether the compiled kernel is available (numba installed, ``VR_BRIAN_NO_NUMBA`` unset).
COMPILED = _njit is not None


# the loops run over slices with indices from 0 up: numba then knows no index is negative (no
# wrap-around check), and LLVM vectorises them


def _block_maximum(row, start, stop):
    part = row[start:stop]
    best = abs(part[0])
    for i in range(1, len(part)):
        best = max(best, abs(part[i]))
    return best


def _subtract_maximum(row, lo, hi, a, values, base):
    """``row[q] -= a * values[base + q]`` for ``lo <= q < hi``; returns the new max of ``|row[lo:hi]|``
    (one pass over the updated values instead of two)."""
    target = row[lo:hi]
    source = values[base + lo : base + hi]
    best = abs(target[0] - a * source[0])
    for i in range(hi - lo):
        value = target[i] - a * source[i]
        target[i] = value
        best = max(best, abs(value))
    return best


def _pursue(
    correlation,
    n,
    supports,
    xc_values,
    xc_offsets,
    max_atoms,
    energy,
    snr_db,
    block,
    channels,
    positions,
    amplitudes,
    remaining_energy,
):
    """The loop of :func:`pursue`; writes the atoms into the four output arrays, returns their number."""
    n_channels, padded = correlation.shape
    n_blocks = padded // block
    channel_max = np.empty((n_channels, n_blocks), dtype=correlation.dtype)
    block_max = np.zeros(n_blocks, dtype=correlation.dtype)
    for c in range(n_channels):
        for b in range(n_blocks):
            channel_max[c, b] = _block_maximum(correlation[c], b * block, (b + 1) * block)
            if channel_max[c, b] > block_max[b]:
                block_max[b] = channel_max[c, b]
    longest = supports.max()
    remaining = energy
    count = 0
    while count < max_atoms:
        b = 0
        for j in range(1, n_blocks):
            if block_max[j] > block_max[b]:
                b = j
        best = block_max[b]
        if best == 0:
            break
        s = 0
        while channel_max[s, b] != best:
            s += 1
        p = b * block
        while abs(correlation[s, p]) != best:
            p += 1
        a = correlation[s, p]
        span = supports[s]
        for c in range(n_channels):
            lo = max(p - supports[c] + 1, 0)
            hi = min(p + span, n)
            base = xc_offsets[s, c] + supports[c] - 1 - p  # X_{s,c}(q - p) at values[base + q]
            row = correlation[c]
            for j in range(lo // block, (hi - 1) // block + 1):
                start, stop = max(j * block, lo), min((j + 1) * block, hi)
                top = _subtract_maximum(row, start, stop, a, xc_values, base)
                # the untouched ends of the first and last block
                if start > j * block:
                    top = max(top, _block_maximum(row, j * block, start))
                if stop < (j + 1) * block:
                    top = max(top, _block_maximum(row, stop, (j + 1) * block))
                channel_max[c, j] = top
        for j in range(max(p - longest + 1, 0) // block, (min(p + span, n) - 1) // block + 1):
            top = channel_max[0, j]
            for c in range(1, n_channels):
                if channel_max[c, j] > top:
                    top = channel_max[c, j]
            block_max[j] = top
        remaining -= float(a) * float(a)
        channels[count] = s
        positions[count] = p
        amplitudes[count] = a
        remaining_energy[count] = remaining
        count += 1
        if 10.0 * np.log10(energy / max(remaining, energy * 1e-30)) >= snr_db:
            break
    return count


if _njit is not None:
    import numba

    # a maximum is exact in any order, so the reduction may be reordered (vectorised); the
    # correlations are finite, so assuming no NaN changes nothing
    _block_maximum = numba.njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "reassoc"})(_block_maximum)
    _subtract_maximum = numba.njit(cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "reassoc"})(
        _subtract_maximum
    )
    _pursue = _njit(_pursue)


def pursue(correlation, n: int, supports, xc_values, xc_offsets, max_atoms: int, energy: float, snr_db: float) -> tuple:
    r"""Select up to ``max_atoms`` atoms from the initial ``correlation`` (updated in place).

    Parameters
    ----------
    correlation : (n_channels, padded) float32 or float64 array
        Correlations of the signal with every kernel at start positions ``0 .. n-1``; zero from
        ``n`` on; ``padded`` a multiple of :data:`BLOCK`.
    n : int
        Samples of the clip.
    supports, xc_values, xc_offsets
        :attr:`~vr_brian.encoding.gammatone.GammatoneDictionary.supports` and
        :meth:`~vr_brian.encoding.gammatone.GammatoneDictionary.support_cross_correlations`
        (``xc_values`` in the dtype of ``correlation``).
    energy : float
        :math:`\|x\|^2`.
    snr_db : float
        Stop once :math:`10 \log_{10}(\|x\|^2 / \|r\|^2)` reaches it (``inf``: never).

    Returns
    -------
    channels, positions : (k,) int64
    amplitudes : (k,) array of the dtype of ``correlation``
    remaining : (k,) float64
        :math:`\|r\|^2` after each atom, from :math:`\|r\|^2 \\leftarrow \|r\|^2 - a^2`.
    """
    if not COMPILED:
        raise RuntimeError("the compiled matching pursuit needs numba (pip install numba) and VR_BRIAN_NO_NUMBA unset")
    if correlation.shape[1] % BLOCK:
        raise ValueError(f"correlation must have a multiple of {BLOCK} columns, got {correlation.shape[1]}")
    channels = np.empty(max_atoms, dtype=np.int64)
    positions = np.empty(max_atoms, dtype=np.int64)
    amplitudes = np.empty(max_atoms, dtype=correlation.dtype)
    remaining = np.empty(max_atoms, dtype=np.float64)
    count = _pursue(
        correlation,
        int(n),
        np.asarray(supports, dtype=np.int64),
        xc_values,
        np.asarray(xc_offsets, dtype=np.int64),
        int(max_atoms),
        float(energy),
        float(snr_db),
        BLOCK,
        channels,
        positions,
        amplitudes,
        remaining,
    )
    return channels[:count], positions[:count], amplitudes[:count], remaining[:count]
