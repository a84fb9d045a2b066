import json
import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sgtheory.errors import ResultsError
from sgtheory.experiments.configs.train import TrainConfig
from sgtheory.results import ShardStore, check_output, read_metadata, read_table, tidy, write_table


def test_tidy_has_every_condition_and_provenance():
    cfg = TrainConfig(delay=18, seed=3)
    frame = tidy(cfg, "train", [{"epoch": 1, "loss": 0.7}, {"epoch": 11, "loss": 0.6}])
    assert len(frame) == 2
    for column in ("experiment", "task", "delay", "model", "surrogate", "slope", "gain", "N", "seed", "run_id",
                   "config_hash", "epoch", "loss"):
        assert column in frame.columns
    assert (frame["delay"] == 18).all() and (frame["seed"] == 3).all()
    assert frame["run_id"].iloc[0] == cfg.run_id() and frame["config_hash"].iloc[0] == cfg.condition_hash()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_write_table_round_trip_with_metadata(tmp_path, suffix):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    path = write_table(frame, tmp_path / f"t{suffix}", {"note": "hello"})
    pd.testing.assert_frame_equal(read_table(path), frame)
    meta = read_metadata(path)
    assert meta["note"] == "hello" and "version" in meta
    assert sorted(os.listdir(tmp_path)) == sorted([f"t{suffix}"] + (["t.csv.meta.json"] if suffix == ".csv" else []))


def test_write_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    write_table(pd.DataFrame({"a": [1]}), path, {})

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(RuntimeError):
        write_table(pd.DataFrame({"a": [5, 6]}), path, {})
    assert read_table(path)["a"].tolist() == [1]  # the old table is intact
    assert os.listdir(tmp_path) == ["t.parquet"]  # no temporary file left behind


def test_check_output(tmp_path):
    assert check_output(tmp_path / "new" / "x.parquet") == (tmp_path / "new" / "x.parquet", "parquet")
    assert check_output(tmp_path / "x.data", "csv")[1] == "csv"
    with pytest.raises(ResultsError, match="format must be one of parquet, csv"):
        check_output(tmp_path / "x.txt")
    (tmp_path / "new").mkdir()
    with pytest.raises(ResultsError, match="is a directory"):
        check_output(tmp_path / "new", "parquet")
    (tmp_path / "file").write_text("")
    with pytest.raises(ResultsError, match="not writable"):
        check_output(tmp_path / "file" / "x.parquet")


def test_check_output_refuses_a_format_that_contradicts_the_suffix_and_creates_nothing(tmp_path):
    with pytest.raises(ResultsError, match="as csv: its suffix says parquet"):
        check_output(tmp_path / "x.parquet", "csv")
    check_output(tmp_path / "a" / "b" / "x.parquet")
    assert list(tmp_path.iterdir()) == []  # the folder is created when the table is written, not by the check


def test_tables_get_the_mode_of_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet", {})
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv", {})
    finally:
        os.umask(old)
    modes = {path.name: path.stat().st_mode & 0o777 for path in tmp_path.iterdir()}
    assert modes == {"t.parquet": 0o644, "t.csv": 0o644, "t.csv.meta.json": 0o644}


def test_a_second_sweep_into_the_same_output_is_refused_while_the_first_holds_it(tmp_path):
    out = tmp_path / "r.parquet"
    with ShardStore(out).lock(out):
        with pytest.raises(ResultsError, match="another sgtheory command is writing"):
            with ShardStore(out).lock(out):
                pass
    with ShardStore(out).lock(out):  # released with the first
        pass


def test_shards_resume_and_collect(tmp_path):
    out = tmp_path / "r.parquet"
    store = ShardStore(out)
    runs = [TrainConfig(seed=s) for s in range(3)]
    assert not any(store.is_complete(c) for c in runs)
    for c in runs[:2]:
        store.write(c, "train", tidy(c, "train", [{"epoch": 1, "loss": float(c.seed)}]), None)
    assert [store.is_complete(c) for c in runs] == [True, True, False]
    with pytest.raises(ResultsError, match="no complete shard"):
        store.collect(runs, "train", out)
    store.write(runs[2], "train", tidy(runs[2], "train", []), "non-finite loss at epoch 1")
    table, stopped = store.collect(runs, "train", out, profile="quick", elapsed_s=2.5)
    assert table["loss"].tolist() == [0.0, 1.0]
    assert stopped == {runs[2].run_id(): "non-finite loss at epoch 1"}
    meta = read_metadata(out)
    assert set(meta["runs"]) == {c.run_id() for c in runs}
    assert meta["profile"] == "quick" and meta["elapsed_s"] == 2.5 and meta["stopped"] == stopped
    assert meta["runs"][runs[0].run_id()]["seed"] == 0


def test_truncated_or_foreign_shard_is_not_complete(tmp_path):
    store = ShardStore(tmp_path / "r.parquet")
    cfg = TrainConfig()
    store.path(cfg).parent.mkdir(parents=True)
    store.path(cfg).write_bytes(b"PAR1 garbage")
    assert not store.is_complete(cfg)
    other = TrainConfig(seed=9)
    write_table(tidy(other, "train", [{"epoch": 1}]), store.path(cfg), {"run_id": other.run_id(), "n_rows": 1})
    assert not store.is_complete(cfg)
    meta = json.loads(pq.read_schema(store.path(cfg)).metadata[b"sgtheory"])
    assert meta["run_id"] == other.run_id()


def test_tidy_refuses_measures_named_like_config_columns():
    with pytest.raises(ValueError, match="floss_steps"):
        tidy(TrainConfig(), "train", [{"epoch": 1, "floss_steps": 3}])
