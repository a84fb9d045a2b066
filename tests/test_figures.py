import pandas as pd

from sgtheory.figures.training import final_accuracy, training_report


def synthetic_table(accuracies: dict[int, list[float]], epochs: int = 300, every: int = 10,
                    paper_epochs: int | None = None) -> pd.DataFrame:
    """Runs whose accuracy is constant over the last 100 epochs (the final window) and 0.5 before; ``epochs`` (the
    run's configured epochs, the scale the claims judge) is ``paper_epochs`` when given."""
    rows = []
    for delay, per_seed in accuracies.items():
        for seed, acc in enumerate(per_seed):
            for epoch in [*range(1, epochs + 1, every), epochs]:
                rows.append({"run_id": f"{delay}-{seed}", "model": "binary", "task": "xor", "delay": delay,
                             "seed": seed, "epoch": epoch, "accuracy": acc if epoch > epochs - 100 else 0.5,
                             "epochs": paper_epochs or epochs, "N": 80, "grad_h0_norm": 1e-6 * (1 + seed)})
    return pd.DataFrame(rows)


def test_final_accuracy_is_the_mean_over_the_last_100_epochs_in_percent():
    table = synthetic_table({10: [1.0, 0.9]})
    final = final_accuracy(table).sort_values("seed")
    assert final["accuracy"].tolist() == [100.0, 90.0]
    table.loc[table["epoch"] == 300, "accuracy"] = 0.0  # the last record counts as one of the window's
    assert final_accuracy(table).sort_values("seed")["accuracy"].iloc[0] < 100.0


def test_training_report_tests_every_delay_against_the_paper():
    good = training_report(synthetic_table({10: [1.0, 1.0], 18: [0.5, 0.52]}, paper_epochs=3001))
    assert "| 18 | 52.66 | 51.00 ± 1.41 | 2 | yes |" in good
    assert "| 10 | 100.00 | 100.00 ± 0.00 | 2 | yes |" in good
    assert good.count("**holds**") == 2 and "**fails**" not in good
    assert "threshold: the success threshold of D11" in good
    # d = 14 at chance where the paper learns it (99.79 %), d = 22 learned where the paper stays at chance
    bad = training_report(synthetic_table({14: [0.5, 0.4999], 22: [0.95, 0.95]}, paper_epochs=3001))
    assert "without flossing d = 14 is learned, as in the paper (99.79 %)" in bad
    assert "without flossing d = 22 is not learned, as in the paper (52.79 %)" in bad
    assert bad.count("**fails**") == 2 and bad.count("**no**") == 2


def test_training_report_leaves_a_short_run_s_misses_undecided():
    """With fewer epochs than the paper's 3001, not learning d = 14 or staying at chance at d = 18 is inconclusive;
    learning d = 18 (which the paper's baseline never does) is a failure at any scale."""
    short = training_report(synthetic_table({14: [0.5, 0.5], 18: [0.5, 0.5], 26: [1.0, 1.0]}))
    assert short.count("**needs the paper profile**") == 2 and short.count("**fails**") == 1
    assert "300 epochs < the paper's 3001" in short


def test_training_curves_render(tmp_path):
    from sgtheory.figures import render

    path = tmp_path / "t.parquet"
    synthetic_table({10: [1.0, 1.0], 14: [0.9, 1.0], 18: [0.5, 0.52]}).to_parquet(path)
    paths = render("training-curves", path, tmp_path / "train.png")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
