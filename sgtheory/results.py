"""Tidy result tables: provenance, atomic writes, one shard per run, resume and collect.

Every row carries the run's conditions (all config fields, ``experiment``), its ``seed``, ``run_id``
(hash of the full config) and ``config_hash`` (hash of the config without the seed, shared by the
seeds of one condition). The parquet metadata key ``sgtheory`` holds the package version and the
resolved config of every run (CSV tables get the same JSON in a ``.meta.json`` file beside them).

Each finished run is written as its own shard ``<out stem>.shards/<run_id>.parquet`` next to the
output; a rerun skips runs whose shard is complete, a sweep copies the complete shard of a run that another
table beside its output already holds (``adopt``), and ``collect`` concatenates the shards of the requested runs
into the output table.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sgtheory import __version__
from sgtheory.errors import ResultsError

FORMATS = ("parquet", "csv")
META_KEY = b"sgtheory"



def output_format(path: Path, fmt: str | None) -> str:
    """The table format: ``fmt`` if given, else from the suffix (.parquet or .csv); a ``fmt`` that contradicts a
    known suffix is refused (CSV bytes in a ``.parquet`` file would mislead every reader)."""
    suffix = path.suffix.lstrip(".").lower()
    if fmt and suffix in FORMATS and suffix != fmt:
        raise ResultsError(f"cannot write '{path}' as {fmt}: its suffix says {suffix}; drop --format or change the "
                           "suffix")
    fmt = fmt or suffix
    if fmt not in FORMATS:
        raise ResultsError(f"cannot write '{path}': the format must be one of {', '.join(FORMATS)} "
                           "(from --format or the file suffix)")
    return fmt


def check_writable(path: str | Path, what: str = "write") -> Path:
    """ResultsError unless ``path`` could be written: not a directory, and its nearest existing folder takes a
    temporary file (removed again). Creates nothing that stays."""
    path = Path(path)
    if path.is_dir():
        raise ResultsError(f"cannot {what} '{path}': it is a directory")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(20, "not a directory")
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ResultsError(f"cannot {what} '{path}': folder '{folder}' is not writable ({err.strerror})") from None
    return path


def check_output(path: str | Path, fmt: str | None = None) -> tuple[Path, str]:
    """Validate an output table path before any work: a known format, consistent with ``fmt``, in a folder we
    can write to (created only when the table is written)."""
    path = Path(path)
    fmt = output_format(path, fmt)
    return check_writable(path), fmt


def tidy(config, experiment: str, rows: Sequence[dict]) -> pd.DataFrame:
    """Rows of measures -> long-form table with every condition column and provenance."""
    conditions = {"experiment": experiment, **config.to_dict()}
    conditions |= {"run_id": config.run_id(), "config_hash": config.condition_hash()}
    frame = pd.DataFrame(list(rows))
    clashes = sorted(set(frame.columns) & set(conditions))
    if clashes:
        raise ValueError(f"measures {clashes} have the names of config columns and would be overwritten")
    for key, value in conditions.items():
        frame[key] = value
    return frame[list(conditions) + [c for c in frame.columns if c not in conditions]]


def _file_mode() -> int:
    """The mode a new file gets under the user's umask (0o666 & ~umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the temporary file onto ``path`` (never half-written), with the mode
    of a file created under the user's umask (a temporary file is private until then)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(frame: pd.DataFrame, path: str | Path, metadata: dict[str, Any], fmt: str | None = None) -> Path:
    """Write ``frame`` atomically as parquet (metadata in the schema) or CSV (metadata beside it)."""
    path = Path(path)
    fmt = output_format(path, fmt)
    meta = json.dumps({"version": __version__, **metadata}, default=str)
    if fmt == "parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: meta.encode()})
        _atomic(path, lambda tmp: pq.write_table(table, tmp))
    else:
        _atomic(Path(f"{path}.meta.json"), lambda tmp: Path(tmp).write_text(meta))
        _atomic(path, lambda tmp: frame.to_csv(tmp, index=False))
    return path


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``sgtheory`` metadata of a table written by :func:`write_table`."""
    path = Path(path)
    if path.suffix == ".csv":
        return json.loads(Path(f"{path}.meta.json").read_text())
    return json.loads(pq.read_schema(path).metadata[META_KEY])


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


class ShardStore:
    """One parquet shard per run beside the output table: ``<out stem>.shards/<run_id>.parquet``."""

    def __init__(self, out: str | Path):
        out = Path(out)
        self.folder = out.parent / f"{out.stem}.shards"

    def path(self, config) -> Path:
        return self.folder / f"{config.run_id()}.parquet"

    @contextmanager
    def lock(self, out: str | Path):
        """Hold an exclusive lock on the shard folder while a sweep writes ``out``; a second sweep into the same
        ``out`` gets a ResultsError at once instead of computing the same runs again. The lock (``flock`` on the
        folder) goes with the process, however it ends; the folders it created are removed again if no shard was
        written."""
        created = [folder for folder in (self.folder, *self.folder.parents) if not folder.exists()]
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ResultsError(f"another sgtheory command is writing '{out}' (its shards in '{self.folder}' are "
                               "locked); wait for it to finish, or choose another --out") from None
        try:
            yield
        finally:
            os.close(fd)
            for folder in created:  # innermost first; stops at the first that is not empty
                if any(folder.iterdir()):
                    break
                folder.rmdir()

    def complete_metadata(self, config, path: Path | None = None) -> dict[str, Any] | None:
        """The metadata of the shard at ``path`` (default: this store's shard of ``config``) if it exists, belongs to
        this exact config (run_id and config_hash) and holds all its rows; else None."""
        path = path or self.path(config)
        if not path.exists():
            return None
        try:
            meta = read_metadata(path)
            rows = pq.read_metadata(path).num_rows
        except (OSError, KeyError, ValueError, pa.ArrowException):
            return None
        ok = (meta.get("run_id") == config.run_id() and meta.get("config_hash") == config.condition_hash()
              and meta.get("n_rows") == rows)
        return meta if ok else None

    def is_complete(self, config) -> bool:
        return self.complete_metadata(config) is not None

    def adopt(self, config, experiment: str) -> bool:
        """Copy a complete shard of ``config`` from the shard folder of another table beside this one, if one holds
        it (two figures that need the same run compute it once: same seed, same numbers); True if copied."""
        for folder in sorted(self.folder.parent.glob("*.shards")):
            source = folder / self.path(config).name
            if folder == self.folder or (meta := self.complete_metadata(config, source)) is None:
                continue
            if meta.get("experiment") == experiment:
                _atomic(self.path(config), lambda tmp, source=source: shutil.copyfile(source, tmp))
                return True
        return False

    def write(self, config, experiment: str, frame: pd.DataFrame, error: str | None,
              compute_s: float | None = None) -> None:
        """Write one run's shard; ``error`` says why it stopped early, ``compute_s`` is its share of the wall
        time of the task that computed it (seconds)."""
        meta = {"experiment": experiment, "run_id": config.run_id(), "config_hash": config.condition_hash(),
                "config": config.to_dict(), "n_rows": len(frame), "error": error, "compute_s": compute_s}
        write_table(frame, self.path(config), meta, "parquet")

    def collect(self, configs: Sequence, experiment: str, out: str | Path, fmt: str | None = None,
                profile: str | None = None, elapsed_s: float | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
        """Concatenate the shards of ``configs`` into ``out``; every run must have a complete shard.

        The table's metadata holds every run's config, ``compute_s`` per run, the ``profile`` and the
        ``elapsed_s`` of this invocation. Returns the table and the runs that stopped early (run_id -> message).
        """
        frames, runs, stopped, compute = [], {}, {}, {}
        for config in configs:
            meta = self.complete_metadata(config)
            if meta is None:
                raise ResultsError(f"run {config.run_id()} (seed {config.seed}) has no complete shard in {self.folder}")
            frames.append(pd.read_parquet(self.path(config)))
            runs[config.run_id()] = config.to_dict()
            compute[config.run_id()] = meta.get("compute_s")
            if meta.get("error"):
                stopped[config.run_id()] = meta["error"]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        write_table(frame, out, {"experiment": experiment, "runs": runs, "stopped": stopped, "compute_s": compute,
                                 "profile": profile, "elapsed_s": elapsed_s}, fmt)
        return frame, stopped
