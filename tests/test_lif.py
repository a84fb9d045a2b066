"""Golden trajectory of the Gygax & Zenke LIF layer (the Engelken & Abbott LIF is checked in test_neurons.py, the
Zenke & Vogels LIF in test_classifier.py)."""

import torch

from sgtheory.functional.lif import lif_gygax_zenke_layer


def test_gygax_zenke_lif_resets_the_leak_term_only():
    """β = 0.5, θ = 1, current (4, 0, 2, 0) by hand: U = (0, 2, 0, 1), one spike at t = 1 (U > θ, strictly).

    t=0: U1 = 0.5·0 + 0.5·4 = 2;  t=1: U = 2 fires, U2 = 0 (leak term reset) + 0.5·0 = 0;
    t=2: U3 = 0 + 0.5·2 = 1;      t=3: U = 1 does not fire (not > θ).
    The reset acts before the new current enters: had it acted on the sum, a spike would also erase that current.
    """
    current = torch.tensor([4.0, 0.0, 2.0, 0.0], dtype=torch.float64).view(4, 1, 1)

    def fire(U, t):
        fired = U > 1.0
        return fired, fired

    U, S = lif_gygax_zenke_layer(current, 0.5, fire)
    assert U.flatten().tolist() == [0.0, 2.0, 0.0, 1.0]
    assert S.flatten().tolist() == [0.0, 1.0, 0.0, 0.0]
    current[1] = 6.0  # a spike at t = 1 keeps the current of that step: U2 = 0.5·6
    U, _ = lif_gygax_zenke_layer(current, 0.5, fire)
    assert U[2].item() == 3.0
