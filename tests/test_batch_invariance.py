"""A run's numbers do not depend on what it is batched with (issue 17): seed 3 trained alone gives exactly the rows
of seed 3 trained among seeds 0-8, in float32 (and float64), for train (tanh, binary, LIF; with and without
flossing), classify (a seed batch and a slope × lr grid, whose cells share one data set) and floss.

The sizes are small and odd on purpose (N = 13, B = 5, …): a realization's block is then no multiple of the vector
width or of 64 bytes, which is where batched GEMMs, fused reductions and vectorised-vs-scalar kernels used to round
a realization differently with its neighbours (before the fix, train differed from epoch 1 on).
"""

import pandas as pd
import pytest

from sgtheory.experiments import expand
from sgtheory.experiments.classify import classify
from sgtheory.experiments.lyapunov import floss
from sgtheory.experiments.train import train

ODD = dict(N=13, batch=5, T=31, delay=4, epochs=8, record_every=1, dtype="float32")
FLOSSING = dict(floss="pre+inter", floss_pre=3, floss_every=3, floss_steps=2, nle=3, floss_T=20)
CLASSIFY = dict(task="randman", classes=3, units=7, samples_per_class=23, steps=13, hidden=11, batch=9, epochs=4,
                dtype="float32")


def assert_same_rows(batched, alone) -> None:
    """The rows of two runs as tables, equal to the last bit (NaN equals NaN)."""
    assert batched.error == alone.error
    pd.testing.assert_frame_equal(pd.DataFrame(batched.rows), pd.DataFrame(alone.rows), check_exact=True)


@pytest.mark.parametrize("flossing", [{}, FLOSSING], ids=["plain", "flossing"])
@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_train_seed_alone_equals_seed_in_a_batch_of_nine(model, flossing):
    settings = ODD | flossing | {"model": model}
    batch = train(expand("train", settings | {"seeds": "0-8"}))
    (alone,) = train(expand("train", settings | {"seeds": "3"}))
    assert batch[3].config == alone.config
    assert_same_rows(batch[3], alone)


@pytest.mark.parametrize("model", ["binary", "lif"])
def test_train_seed_alone_equals_seed_in_a_batch_in_float64(model):
    settings = ODD | FLOSSING | {"model": model, "dtype": "float64"}
    batch = train(expand("train", settings | {"seeds": "0-8"}))
    (alone,) = train(expand("train", settings | {"seeds": "3"}))
    assert_same_rows(batch[3], alone)


def test_train_adaptive_flossing_seed_alone_equals_seed_in_a_batch():
    """Adaptive flossing skips realizations one by one: a masked Adam step must not touch the others' numbers."""
    settings = ODD | FLOSSING | {"model": "binary", "floss": "adaptive", "floss_tol": 0.01, "surrogate": "sigmoid"}
    batch = train(expand("train", settings | {"seeds": "0-8"}))
    (alone,) = train(expand("train", settings | {"seeds": "3"}))
    assert_same_rows(batch[3], alone)


def test_classify_seed_alone_equals_seed_in_a_batch_of_nine():
    batch = classify(expand("classify", CLASSIFY | {"seeds": "0-8"}))
    (alone,) = classify(expand("classify", CLASSIFY | {"seeds": "3"}))
    assert_same_rows(batch[3], alone)


def test_classify_recurrent_seed_alone_equals_seed_in_a_batch_of_nine():
    """Recurrent weights (their product in the LIF loops and their gradient), the sum readout, the upper bound."""
    settings = CLASSIFY | dict(recurrent=True, readout="sum", upper_strength=1.0, upper_threshold=0.1, steps=20,
                               hidden=17, units=11, epochs=6)
    batch = classify(expand("classify", settings | {"seeds": "0-8"}))
    (alone,) = classify(expand("classify", settings | {"seeds": "3"}))
    assert_same_rows(batch[3], alone)


def test_classify_cell_alone_equals_cell_of_a_grid_sharing_its_data():
    """The cells of one seed share one data set: its inputs are broadcast over the cells of a slope × lr grid."""
    grid = expand("classify", CLASSIFY | {"seeds": "3", "slope": [5.0, 10.0, 20.0], "lr": [0.01, 0.05]})
    together = classify(grid)
    (alone,) = classify([grid[3]])
    assert_same_rows(together[3], alone)


def test_floss_seed_alone_equals_seed_in_a_batch_of_nine():
    settings = dict(model="lif", N=9, nle=3, floss_T=20, epochs=4, spectrum_nle=3, spectrum_T=30, jacobian_T=12,
                    dtype="float32")
    batch = floss(expand("floss", settings | {"seeds": "0-8"}))
    (alone,) = floss(expand("floss", settings | {"seeds": "3"}))
    assert_same_rows(batch[3], alone)
