"""Shared test settings: one intra-op thread (the machines running the suite are shared); fixtures ``run_cli``
and ``load_benchmark``."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from sgtheory.cli import main

torch.set_num_threads(1)


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """``run_cli(*args) -> (exit code, stdout, stderr)`` of ``sgtheory *args`` run in-process."""

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["sgtheory", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def load_benchmark(monkeypatch):
    """``load_benchmark(name)``: the module ``benchmarks/<name>.py``, imported from its file (with benchmarks/ on
    sys.path, as when the script runs, for its shared helper ``common``)."""
    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(folder))

    def load(name: str):
        path = folder / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
