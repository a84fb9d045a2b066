"""Every row of docs/bad_inputs.md, run as written: one line on stderr, exit code 2, nothing written."""

import re
import shlex
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad_inputs.md"
ROW = re.compile(r"^\| `sgtheory (?P<args>[^`]+)` \| `(?P<answer>[^`]+)` \|$")


def rows() -> list[tuple[str, str]]:
    found = [(m["args"], m["answer"]) for m in map(ROW.match, DOC.read_text().splitlines()) if m]
    assert len(found) >= 40, "the table of docs/bad_inputs.md was not parsed"
    return found


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """A small `train` result table (and its empty failures table) outside the folder the rows run in."""
    from sgtheory.experiments import expand
    from sgtheory.sweep import run_sweep

    out = tmp_path_factory.mktemp("tables") / "train.parquet"
    run_sweep("train", expand("train", {"N": 6, "T": 20, "delay": 4, "epochs": 2, "batch": 2}), out)
    return out


def prepare(folder: Path, table: Path) -> dict[str, str]:
    """The files the rows' placeholders name."""
    files = {"file": "plain.txt", "invalid_yaml": "invalid.yaml", "empty": "empty.yaml", "binary": "binary.yaml",
             "list_yaml": "list.yaml", "train_yaml": "train.yaml", "classify_yaml": "classify.yaml",
             "invalid_cluster": "cluster.yaml"}
    texts = {"file": "", "invalid_yaml": "N: [1, 2\n", "empty": "", "list_yaml": "- 1\n- 2\n",
             "train_yaml": "N: 6\nprofiles:\n  quick: {epochs: 2}\n", "classify_yaml": "experiment: classify\n",
             "invalid_cluster": "cores: 1\npartition: short\n"}
    for key, name in files.items():
        if key == "binary":
            (folder / name).write_bytes(bytes(range(128, 256)))
        else:
            (folder / name).write_text(texts[key])
    (folder / "a_folder.parquet").mkdir()
    names = {key: str(folder / name) for key, name in files.items()}
    return names | {"missing": str(folder / "absent"), "folder": str(folder / "a_folder.parquet"), "table": str(table),
                    "failures": str(table.with_name("train.failures.parquet"))}


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(("args", "answer"), rows(), ids=[args for args, _ in rows()])
def test_bad_input_row(args, answer, table, tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)  # default outputs (results/...) would land here
    names = prepare(tmp_path, table)
    argv = [a.format(**names) for a in shlex.split(args)]
    before = listing(tmp_path)
    code, stdout, stderr = run_cli(*argv)
    assert (code, stderr.count("\n")) == (2, 1), stderr
    assert stderr.startswith("sgtheory: error: ") and answer in stderr
    assert "Traceback" not in stdout + stderr
    assert listing(tmp_path) == before  # nothing written
