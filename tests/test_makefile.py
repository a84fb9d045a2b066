"""The Makefile computes every run once: where two targets' sweeps share runs (same run ids), one target depends on the
other, so that the later sweep copies the runs' shards (sweep.py) instead of computing them again beside it."""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from sgtheory.cli import experiment_command, gather
from sgtheory.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parent.parent
SWEEP_OPTIONS = ("config_file", "profile", "seeds", "sets", "out", "fmt", "executor", "workers", "scheduler",
                 "retries", "threads", "checkpoint_every", "force")


def make(*args: str) -> str:
    return subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", *args], capture_output=True, text=True,
                          check=True).stdout


def sweeps(profile: str) -> list[tuple[str, str, set[str]]]:
    """(target, --out, run ids) of every sweep command of ``make all PROFILE=profile``, in recipe order."""
    found, target = [], None
    for line in make("-n", "--trace", "all", f"PROFILE={profile}").replace("\\\n", " ").splitlines():
        if update := re.match(r"\S+:\d+: update target '([^']+)'", line):
            target = update.group(1)
        elif line.startswith(".venv/bin/sgtheory ") and (name := shlex.split(line)[1]) in EXPERIMENTS:
            params = experiment_command(name, EXPERIMENTS[name]).make_context(name, shlex.split(line)[2:]).params
            options = {k: v for k, v in params.items() if k not in SWEEP_OPTIONS}
            if params["seeds"] is not None:
                options["seeds"] = params["seeds"]
            configs = gather(name, ROOT / params["config_file"], params["profile"], options, params["sets"])
            found.append((target, params["out"], {c.run_id() for c in configs}))
    return found


def prerequisites() -> dict[str, set[str]]:
    """Each target's prerequisites (make's database)."""
    rules = re.findall(r"^([\w.-]+):(?!=)(.*)$", make("-pnR", "all"), re.MULTILINE)
    return {target: set(deps.split()) for target, deps in rules}


def depends(target: str, on: str, graph: dict[str, set[str]]) -> bool:
    todo, seen = [target], set()
    while todo:
        for dep in graph.get(todo.pop(), set()) - seen:
            if dep == on:
                return True
            seen.add(dep)
            todo.append(dep)
    return False


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("profile", ["quick", "paper"])
def test_targets_that_share_runs_depend_on_each_other(monkeypatch, profile):
    monkeypatch.chdir(ROOT)  # configs are named relative to the repository
    found, graph = sweeps(profile), prerequisites()
    assert len(found) > 50 and graph["r2-schedules"] >= {"r2", "r2-schedule-lr", "r2-schedule-k16"}
    shared = [(a, b) for i, (a, _, runs) in enumerate(found) for b, _, other in found[i + 1:]
              if a != b and runs & other]
    if profile == "quick":
        assert ("r2", "r2-schedule-k16") in shared  # k = 16 is the quick profile's reference schedule
    unordered = [(a, b) for a, b in shared if not (depends(a, b, graph) or depends(b, a, graph))]
    assert not unordered, f"targets computing the same runs side by side: {unordered}"
