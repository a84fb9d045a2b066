"""Compiled sums over spikes: the product of a weight matrix with a row of zeros and ones as the sum of the
matrix's columns at the units that spike, added in the order of the units (every product exact; the cost grows with
the number of spikes). Used by the forward loops of :mod:`sgtheory.functional.fused_rnn` and
:mod:`sgtheory.functional.lif`."""

import numba


@numba.njit(cache=True, inline="always")
def add_rows(rows, fired, count, out):  # pragma: no cover (compiled)
    """out += rows[fired[0]] + … + rows[fired[count − 1]], added one row after the other (four rows per pass over
    ``out``: the same sums, a quarter of the loads and stores of ``out``)."""
    for k in range(0, count - 3, 4):
        r0, r1, r2, r3 = rows[fired[k]], rows[fired[k + 1]], rows[fired[k + 2]], rows[fired[k + 3]]
        for n in range(out.shape[0]):
            out[n] = out[n] + r0[n] + r1[n] + r2[n] + r3[n]
    for k in range(count - count % 4, count):
        row = rows[fired[k]]
        for n in range(out.shape[0]):
            out[n] += row[n]


@numba.njit(cache=True, inline="always")
def spiking(spikes, fired):  # pragma: no cover (compiled)
    """The number of nonzero entries of the row ``spikes``; their indices, in order, into fired[:count]."""
    count = 0
    for n in range(spikes.shape[0]):
        fired[count] = n
        count += spikes[n] != 0.0
    return count


@numba.njit(cache=True, inline="always")
def columns_at_spikes(W_T, spikes, fired, out):  # pragma: no cover (compiled)
    """out = W s for one row s (N,) of zeros and ones: the sum of the rows of W_T = Wᵀ at the units that spike, added
    in the order of the units (exact products; the cost grows with the number of spikes, about a GEMM's at half the
    units active, a few per cent at the rates of the LIF networks)."""
    out[:] = 0.0
    add_rows(W_T, fired, spiking(spikes, fired), out)
