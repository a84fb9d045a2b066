"""The training procedure: batched realizations equal single runs, gradients, clipping, failures."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from sgtheory.config import expand
from sgtheory.experiments.train import build_model, clip_per_realization, draw_batch, train

TINY = {"N": 8, "batch": 4, "T": 20, "delay": 4, "epochs": 6, "record_every": 1, "dtype": "float64"}


def measures(result):
    return [(r["epoch"], r["loss"], r["accuracy"], r["grad_h0_norm"]) for r in result.rows]


@pytest.mark.parametrize("model", ["tanh", "binary", "lif"])
def test_batched_realizations_equal_single_runs(model):
    configs = expand("train", {**TINY, "model": model, "seeds": "0-2"})
    batched = train(configs)
    for config, together in zip(configs, batched, strict=True):
        alone = train([config])[0]
        assert len(alone.rows) == len(together.rows) == 6
        for a, b in zip(measures(alone), measures(together), strict=True):
            assert a[0] == b[0]
            assert a[1:] == pytest.approx(b[1:], rel=1e-10, abs=1e-300)


def test_same_seed_same_numbers_other_seed_other_numbers():
    a, b = (train(expand("train", {**TINY, "seeds": 5}))[0] for _ in range(2))
    assert measures(a) == measures(b)
    c = train(expand("train", {**TINY, "seeds": 6}))[0]
    assert measures(a) != measures(c)


def task_loss(model, inputs, targets, scored):
    logits = model(inputs)[scored]
    return F.binary_cross_entropy_with_logits(logits, targets[scored], reduction="none").mean(dim=(0, 2))


def test_initial_state_gradient_matches_finite_differences():
    configs = expand("train", {**TINY, "model": "tanh", "seeds": "0-1"})
    model = build_model(configs)
    batch = draw_batch(configs, epoch=1)
    task_loss(model, *batch).sum().backward()
    eps = 1e-6
    for index in [(0, 0, 0), (1, 3, 5), (0, 2, 7)]:
        with torch.no_grad():
            model.x0[index] += eps
            up = task_loss(model, *batch)[index[0]].item()
            model.x0[index] -= 2 * eps
            down = task_loss(model, *batch)[index[0]].item()
            model.x0[index] += eps
        assert model.x0.grad[index].item() == pytest.approx((up - down) / (2 * eps), rel=1e-6, abs=1e-12)


def test_clipping_is_per_realization_and_per_array():
    a = torch.zeros(3, 2, 2, requires_grad=True)
    a.grad = torch.tensor([[[3.0, 4.0], [0.0, 0.0]], [[0.01, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.06]]])
    b = torch.zeros(3, 1, requires_grad=True)
    b.grad = torch.tensor([[10.0], [0.02], [-1.0]])
    clip_per_realization([a, b], 0.03)
    norms_a = a.grad.flatten(1).norm(dim=1)
    torch.testing.assert_close(norms_a, torch.tensor([0.03, 0.01, 0.03]))
    torch.testing.assert_close(a.grad[0, 0], torch.tensor([0.018, 0.024]))  # direction kept
    torch.testing.assert_close(b.grad.flatten(), torch.tensor([0.03, 0.02, -0.03]))


def test_non_finite_realization_stops_alone_and_keeps_its_rows():
    configs = expand("train", {**TINY, "epochs": 8, "seeds": "0-2"})

    def sabotage(model, epoch):
        if epoch == 4:
            with torch.no_grad():
                model.J[1, 0, 0] = float("nan")

    broken = train(configs, before_epoch=sabotage)
    clean = train(configs)
    assert broken[1].error == "non-finite loss or gradient at epoch 4; the run stopped there"
    assert [r["epoch"] for r in broken[1].rows] == [1, 2, 3]
    assert measures(broken[1]) == measures(clean[1])[:3]
    for r in (0, 2):
        assert broken[r].error is None and measures(broken[r]) == measures(clean[r])


def test_accuracy_and_loss_are_measured_before_the_update():
    configs = expand("train", {**TINY, "epochs": 1, "seeds": "0-1"})
    rows = [r.rows[0] for r in train(configs)]
    model = build_model(configs)
    inputs, targets, scored = draw_batch(configs, epoch=1)
    with torch.no_grad():
        logits = model(inputs)[scored]
    accuracy = ((logits >= 0) == (targets[scored] > 0.5)).double().mean(dim=(0, 2))
    loss = task_loss(model, inputs, targets, scored)
    for r in range(2):
        assert rows[r]["accuracy"] == pytest.approx(accuracy[r].item())
        assert rows[r]["loss"] == pytest.approx(loss[r].item(), rel=1e-12)


def test_recorded_epochs():
    config = expand("train", {**TINY, "epochs": 23, "record_every": 10})
    assert [r["epoch"] for r in train(config)[0].rows] == [1, 11, 21, 23]


def test_runs_of_a_group_must_differ_only_by_seed():
    a, b = expand("train", {**TINY, "delay": [4, 6]})
    with pytest.raises(ValueError, match="differ only in their seed"):
        train([a, dataclasses.replace(b, seed=1)])


def test_training_learns_a_short_copy_task():
    """An invariant of the whole procedure: the tanh RNN learns copy with d = 1 within 300 epochs."""
    config = expand("train", {"model": "tanh", "task": "copy", "delay": 1, "N": 16, "batch": 8, "T": 20,
                              "epochs": 300, "lr": 0.01, "record_every": 50})
    rows = train(config)[0].rows
    assert rows[0]["accuracy"] < 0.75 and rows[-1]["accuracy"] > 0.95
