import pandas as pd

from sgtheory.figures.training import final_accuracy, training_report


def synthetic_table(accuracies: dict[int, list[float]], epochs: int = 300, every: int = 10) -> pd.DataFrame:
    """Runs whose accuracy is constant over the last 100 epochs (the final window) and 0.5 before."""
    rows = []
    for delay, per_seed in accuracies.items():
        for seed, acc in enumerate(per_seed):
            for epoch in [*range(1, epochs + 1, every), epochs]:
                rows.append({"run_id": f"{delay}-{seed}", "model": "binary", "task": "xor", "delay": delay,
                             "seed": seed, "epoch": epoch, "accuracy": acc if epoch > epochs - 100 else 0.5})
    return pd.DataFrame(rows)


def test_final_accuracy_is_the_mean_over_the_last_100_epochs_in_percent():
    table = synthetic_table({10: [1.0, 0.9]})
    final = final_accuracy(table).sort_values("seed")
    assert final["accuracy"].tolist() == [100.0, 90.0]
    table.loc[table["epoch"] == 300, "accuracy"] = 0.0  # the last record counts as one of the window's
    assert final_accuracy(table).sort_values("seed")["accuracy"].iloc[0] < 100.0


def test_training_report_marks_claims():
    good = training_report(synthetic_table({10: [1.0, 1.0], 18: [0.5, 0.52]}))
    assert "| 18 | 52.66 | 51.00 ± 1.41 | 2 | yes |" in good
    assert "| 10 | 100.00 | 100.00 ± 0.00 | 2 | yes |" in good
    assert good.count("**holds**") == 2
    bad = training_report(synthetic_table({10: [0.6, 0.6], 18: [0.9, 0.9]}))
    assert bad.count("**fails**") == 2 and bad.count("**no**") == 2
