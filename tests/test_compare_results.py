"""The result-folder comparison that guards restructurings (benchmarks/compare_results.py)."""

import importlib.util
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "compare_results.py"
SPEC = importlib.util.spec_from_file_location("compare_results", SCRIPT)
compare_results = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(compare_results)

TABLE = pd.DataFrame({"run_id": ["a", "a", "b"], "epoch": [1, 2, 1], "loss": [0.5, 0.25, float("nan")]})


def write(folder: Path, frame: pd.DataFrame) -> Path:
    folder.mkdir()
    frame.to_parquet(folder / "t.parquet")
    return folder


def test_reordered_rows_are_identical(tmp_path):
    before = write(tmp_path / "before", TABLE)
    after = write(tmp_path / "after", TABLE.iloc[::-1])
    assert compare_results.main([str(before), str(after)]) == 0


def test_a_changed_value_is_reported(tmp_path, capsys):
    changed = TABLE.assign(loss=[0.5, 0.25 + 1e-9, float("nan")])
    before = write(tmp_path / "before", TABLE)
    after = write(tmp_path / "after", changed)
    assert compare_results.main([str(before), str(after)]) == 1
    assert "column 'loss': 1 values differ" in capsys.readouterr().out
    assert compare_results.main([str(before), str(after), "--atol", "1e-6"]) == 0


def test_a_missing_table_or_column_is_reported(tmp_path, capsys):
    before = write(tmp_path / "before", TABLE)
    after = write(tmp_path / "after", TABLE.drop(columns="loss"))
    assert compare_results.main([str(before), str(after)]) == 1
    assert "columns differ: ['loss']" in capsys.readouterr().out
    (after / "t.parquet").unlink()
    assert compare_results.main([str(before), str(after)]) == 1
