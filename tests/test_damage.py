"""Damage spreading and the Derrida map: exact oracles (no coupling, permutations, identity), order vs chaos,
the LIF flip, batching and seeding of the lyap rows, and the CLI."""

import pandas as pd
import pytest
import torch

from sgtheory.experiments import expand
from sgtheory.experiments.damage import network_damage
from sgtheory.experiments.lyapunov import lyap
from sgtheory.experiments.network import build_model
from sgtheory.functional.damage import damage_spreading, derrida_map, flip, outputs
from sgtheory.functional.lif import lif_engelken_abbott_params, lif_engelken_abbott_step
from sgtheory.functional.neurons import binary_params, rate_step
from sgtheory.functional.surrogate import make_surrogate

F64 = torch.float64
SG = make_surrogate("fast_sigmoid", 1.0)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def binary_step(J):
    params = binary_params(J, SG)
    return lambda drive, x: rate_step(drive, x, params)[1]


def one_flip(shape, seed):
    """A mask (..., N) with one random unit per trial."""
    scores = torch.rand(shape, generator=gen(seed))
    return scores == scores.max(dim=-1, keepdim=True).values


def test_flip_toggles_exactly_the_masked_outputs():
    x = torch.tensor([[-2.0, 0.0, 0.5, 3.0]], dtype=F64)
    mask = torch.tensor([[True, True, True, False]])
    assert outputs(flip(x, mask)).tolist() == [[True, True, False, True]]
    v, current = torch.tensor([0.2, 1.0, 1.5]), torch.tensor([1.0, 2.0, 3.0])
    flipped = flip((v, current), torch.ones(3, dtype=torch.bool), threshold=1.0)
    assert outputs(flipped, 1.0).tolist() == [True, True, False] and flipped[0][2] == 0.0  # silenced: reset to 0
    assert flipped[1] is current


def test_without_coupling_a_flip_does_not_propagate():
    N, T = 30, 15
    J = torch.zeros(3, N, N, dtype=F64)
    x0 = torch.randn(3, 8, N, generator=gen(0), dtype=F64)
    drive = torch.randn(T, 3, 8, N, generator=gen(1), dtype=F64)
    d = damage_spreading(binary_step(J), x0, drive, one_flip((3, 8, N), 2))
    assert d.shape == (T + 1, 3, 8)
    assert (d[0] == 1).all() and (d[1:] == 0).all()


def test_a_permutation_carries_one_flip_forever():
    """x' = 5 P H(x) (no drive): H(x') = P H(x), so the flipped output moves along the permutation."""
    N, T = 20, 50
    J = torch.stack([5.0 * torch.eye(N, dtype=F64)[torch.randperm(N, generator=gen(r))] for r in range(2)])
    x0 = torch.randn(2, 6, N, generator=gen(3), dtype=F64)
    d = damage_spreading(binary_step(J), x0, torch.zeros(T, 2, 6, N, dtype=F64), one_flip((2, 6, N), 4))
    assert (d == 1).all()


def mean_damage(gain, T=40, N=200, B=50, seed=5):
    """Mean damage over B trials of a binary network with J ~ gain N(0, 1/N) and drive ~ N(0, 1), after 50 steps."""
    J = gain * torch.randn(N, N, generator=gen(seed), dtype=F64) / N**0.5
    step = binary_step(J)
    drive = torch.randn(50 + T, B, N, generator=gen(seed + 1), dtype=F64)
    x = torch.randn(B, N, generator=gen(seed + 2), dtype=F64)
    for drive_t in drive[:50]:
        x = step(drive_t, x)
    return damage_spreading(step, x, drive[50:], one_flip((B, N), seed + 3)).double().mean(-1)


def test_damage_spreads_in_a_chaotic_network_and_dies_in_an_ordered_one():
    """Gain 4: one flip spreads to a finite fraction (0.15-0.2 N over seeds, H saturates it); gain 0.3: it dies."""
    chaotic, ordered = mean_damage(4.0), mean_damage(0.3)
    assert chaotic[20:].min() > 0.1 * 200
    assert ordered[30:].max() < 0.5


def test_derrida_map_oracles():
    N, B = 40, 10
    x0 = torch.randn(2, B, N, generator=gen(6), dtype=F64)
    drive = torch.zeros(2, B, N, dtype=F64)
    masks = torch.stack([torch.rand(2, B, N, generator=gen(7 + k)) < h for k, h in enumerate((0.1, 0.5, 1.0))])
    h0 = masks.double().mean(-1)
    assert (derrida_map(binary_step(torch.zeros(2, N, N, dtype=F64)), x0, drive, masks) == 0).all()
    identity = 5.0 * torch.eye(N, dtype=F64).expand(2, N, N)
    torch.testing.assert_close(derrida_map(binary_step(identity), x0, drive, masks), h0, rtol=0, atol=0)


def test_lif_flip_without_coupling_is_one_extra_or_missing_spike():
    """V = 0, no drive, I = 0: an added spike resets v, a removed one leaves v at its reset 0, then nothing fires."""
    N = 10
    params = lif_engelken_abbott_params(torch.zeros(N, N, dtype=F64), SG)
    v = torch.linspace(0.0, 2.0, N, dtype=F64)  # half the units spike at t = 0
    state = (v.expand(N, N), torch.zeros(N, N, dtype=F64))
    step = lambda drive, s: lif_engelken_abbott_step(drive, s, params)[1]  # noqa: E731
    d = damage_spreading(step, state, torch.zeros(5, N, N, dtype=F64), torch.eye(N, dtype=torch.bool), threshold=1.0)
    assert (d[0] == 1).all() and (d[1:] == 0).all()


@pytest.mark.parametrize("model,threshold,wrong", [("binary", 0.0, 0.5), ("lif", 0.5, 0.0)])
def test_network_damage_runs_the_model_with_its_threshold(model, threshold, wrong):
    configs = expand("lyap", dict(model=model, N=16, gain=3.0, threshold=0.5, dtype="float64", seeds="0-1"))
    net = build_model(configs, 4)
    inputs = torch.bernoulli(torch.full((20, 2, 4, 1), 0.5, dtype=F64), generator=gen(9))
    mask = one_flip((2, 4, 16), 8)
    d = network_damage(net, inputs, net.x0, mask)
    step, _, unpack = net.dynamics()
    direct = [damage_spreading(step, unpack(net.x0.detach()), net.drive(inputs).detach(), mask, theta)
              for theta in (threshold, wrong)]
    assert d.shape == (21, 2, 4) and (d[0] == 1).all()
    assert torch.equal(d, direct[0]) and not torch.equal(d, direct[1])


def _lyap(seeds, **kw):
    base = dict(model="binary", N=20, gain=2.0, nle=1, steps=60, damage_horizon=12, damage_after=10,
                damage_trials=8, derrida_points=4, seeds=seeds)
    return lyap(expand("lyap", base | kw))


@pytest.mark.parametrize("model", ["binary", "lif"])
def test_lyap_damage_rows_are_seeded_and_batched_independently(model):
    together = _lyap("0-2", model=model)
    for seed in range(3):
        alone = _lyap(str(seed), model=model)[0].rows
        assert together[seed].rows == alone
        assert _lyap(str(seed), model=model)[0].rows == alone
    rows = together[0].rows
    damage = [r for r in rows if r["quantity"] == "damage"]
    derrida = [r for r in rows if r["quantity"] == "derrida"]
    assert [r["step"] for r in damage] == list(range(1, 13)) and all(r["index"] == 1 for r in damage)
    assert [r["h0"] for r in derrida] == [0.25, 0.5, 0.75, 1.0] and [r["index"] for r in derrida] == [5, 10, 15, 20]
    assert all(0 <= r["value"] <= 20 for r in damage) and all(0 <= r["value"] <= 1 for r in derrida)
    assert {"ky_dimension", "entropy_rate"} <= set(rows[-1])
    assert together[0].rows != together[1].rows


def test_lyap_without_damage_has_no_damage_rows():
    rows = lyap(expand("lyap", dict(N=10, nle=1, steps=60)))[0].rows
    assert {r["quantity"] for r in rows} == {"exponent", "lambda1"}


def test_cli_writes_damage_and_derrida_rows(tmp_path, run_cli):
    out = tmp_path / "dmg.csv"
    code, stdout, _ = run_cli("lyap", "--model", "binary", "--N", "16", "--nle", "1", "--steps", "60", "--seeds", "0-1",
                              "--damage-horizon", "20", "--damage-trials", "5", "--derrida-points", "4",
                              "--executor", "inline", "--out", str(out))
    assert code == 0, stdout
    table = pd.read_csv(out)
    damage = table[table["quantity"] == "damage"]
    assert len(damage) == 2 * 20 and set(damage["step"]) == set(range(1, 21))
    assert sorted(table[table["quantity"] == "derrida"]["h0"].unique()) == [0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("args,message", [
    (["--model", "tanh", "--damage-horizon", "20"],
     "damage_horizon=20 needs binary outputs: model must be one of: binary, lif (not tanh)"),
    (["--model", "tanh", "--derrida-points", "3"], "derrida_points=3 needs binary outputs"),
    (["--damage-horizon", "-1"], "damage_horizon=-1 must be >= 0"),
    (["--damage-trials", "0"], "damage_trials=0 must be a positive integer"),
    (["--N", "10", "--derrida-points", "11"], "derrida_points=11 exceeds N=10"),
])
def test_cli_rejects_bad_damage_settings(tmp_path, run_cli, args, message):
    code, _, err = run_cli("lyap", *args, "--out", str(tmp_path / "x.parquet"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.parquet").exists()
