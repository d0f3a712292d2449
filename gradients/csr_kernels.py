"""Compiled (numba) loops over the spikes of a :class:`gradients.forward.SpikeMatrix`: its CSR form
and the two event-driven products.

Imported on first use by :mod:`gradients.forward` (which stays numba-free at import). No
fastmath: every loop performs the numpy/scipy path's operations in the same order and
precision, so both paths give the same numbers to the last bit.
"""

import numba
import numpy as np

__all__ = ["csr_structure", "csr_times_dense", "csr_transposed_times_dense"]

_njit = numba.njit(cache=True, nogil=True)


@_njit
def csr_structure(flat):  # pragma: no cover (compiled)
    """(column indices, row pointers) of the ones of a bool matrix, int32, without branches."""
    rows, units = flat.shape
    indptr = np.empty(rows + 1, np.int32)
    indptr[0] = 0
    count = 0
    for r in range(rows):
        row = flat[r]
        for u in range(units):
            count += row[u]
        indptr[r + 1] = count
    cols = np.empty(count + 1, np.int32)  # one spare slot: every unit is written, ones advance
    i = 0
    for r in range(rows):
        row = flat[r]
        for u in range(units):
            cols[i] = u
            i += row[u]
    return cols[:count], indptr


@_njit
def csr_times_dense(cols, indptr, dense, out):  # pragma: no cover (compiled)
    """out[r] = sum of dense[c] over the spikes (r, c), in CSR order (scipy's order)."""
    rows, width = out.shape
    for r in range(rows):
        row = out[r]
        row[:] = 0
        for i in range(indptr[r], indptr[r + 1]):
            source = dense[cols[i]]
            for j in range(width):
                row[j] += source[j]


@_njit
def csr_transposed_times_dense(cols, indptr, dense, out):  # pragma: no cover (compiled)
    """out[c] = sum of dense[r] over the spikes (r, c), r < len(dense), in CSR order."""
    out[:] = 0
    width = out.shape[1]
    for r in range(dense.shape[0]):
        source = dense[r]
        for i in range(indptr[r], indptr[r + 1]):
            row = out[cols[i]]
            for j in range(width):
                row[j] += source[j]
