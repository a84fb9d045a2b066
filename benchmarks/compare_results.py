"""Compare two result folders table by table: the check that a restructuring changed no number.

Usage: python benchmarks/compare_results.py BEFORE_DIR AFTER_DIR [--atol 0]

Every ``*.parquet`` / ``*.csv`` table directly in BEFORE_DIR must exist in AFTER_DIR with the same columns, the
same number of rows and the same values after sorting both by every column that is not floating point (the
conditions, ``run_id``, ``config_hash``, counters). Floats are equal when |a − b| ≤ atol (default 0: bit-identical;
NaN equals NaN). Prints one line per table and exits 1 if any differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def sorted_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order: by every non-float column (as strings, so mixed types sort), then the floats."""
    keys = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
    floats = [c for c in frame.columns if c not in keys]
    order = frame[keys].astype(str).assign(**{c: frame[c] for c in floats})
    index = order.sort_values(keys + floats, kind="mergesort").index
    return frame.loc[index].reset_index(drop=True)


def compare(before: pd.DataFrame, after: pd.DataFrame, atol: float) -> str | None:
    """None when the tables agree, else a one-line description of the first difference."""
    if sorted(before.columns) != sorted(after.columns):
        extra = set(after.columns) ^ set(before.columns)
        return f"columns differ: {sorted(extra)}"
    if len(before) != len(after):
        return f"{len(before)} rows before, {len(after)} after"
    before, after = sorted_frame(before), sorted_frame(after[before.columns])
    for column in before.columns:
        a, b = before[column], after[column]
        if pd.api.types.is_float_dtype(a) and pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(float), b.to_numpy(float)
            bad = ~((np.abs(x - y) <= atol) | (np.isnan(x) & np.isnan(y)))
            if bad.any():
                worst = np.nanmax(np.abs(x - y)[bad]) if np.isfinite(x - y)[bad].any() else float("nan")
                return f"column {column!r}: {bad.sum()} values differ (largest |difference| {worst:.3g})"
        elif not a.astype(str).equals(b.astype(str)):
            return f"column {column!r}: {(a.astype(str) != b.astype(str)).sum()} values differ"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--atol", type=float, default=0.0, help="largest allowed |difference| of a float")
    args = parser.parse_args(argv)
    tables = sorted(p for p in args.before.iterdir() if p.suffix in (".parquet", ".csv"))
    if not tables:
        print(f"no tables in {args.before}")
        return 1
    failed = 0
    for path in tables:
        other = args.after / path.name
        problem = "missing after" if not other.exists() else compare(read(path), read(other), args.atol)
        failed += problem is not None
        print(f"{'DIFF' if problem else 'same'}  {path.name}" + (f": {problem}" if problem else ""))
    print(f"{len(tables) - failed} of {len(tables)} tables identical")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
