"""Shared test settings: one intra-op thread (the machines running the suite are shared), and ``run_cli``."""

import sys

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
