"""Parsing, help and config validation need no torch, numpy or pandas; the torch-side registries keep the names of
the torch-free choices; the registry names its run functions (imported when a sweep runs, picklable for workers)."""

import json
import pickle
import subprocess
import sys

import pytest

from sgtheory import choices, executors, experiments, results
from sgtheory.config import RunConfig
from sgtheory.experiments.base import DTYPES
from sgtheory.experiments.configs.spike_match import TARGET_SHAPE
from sgtheory.functional import surrogate
from sgtheory.models.sigmoid_net import PARAMETERS
from sgtheory.tasks.spike_match import DEFAULT_SHAPE

HEAVY = ("torch", "numpy", "pandas", "matplotlib", "pyarrow", "tqdm")

# In a fresh interpreter: import the CLI, then answer --help, every command's --help, a bad option value, an unknown
# option and config values refused by validation; print each exit code and the top-level modules imported.
PROBE = """
import json, sys
from sgtheory.cli import cli, main

codes = {}
for args in ([], *[[name] for name in cli.list_commands(None)], ["train", "--N", "abc"], ["train", "--bogus"],
             ["train", "--delay", "7"], ["classify", "--surrogate", "nope"], ["lyap", "--nle", "999"]):
    sys.argv = ["sgtheory", *args, "--help"] if len(args) < 2 else ["sgtheory", *args]
    try:
        main()
        codes[" ".join(args)] = 0
    except SystemExit as exit:
        codes[" ".join(args)] = exit.code
print(json.dumps({"codes": codes, "modules": sorted({name.partition(".")[0] for name in sys.modules})}))
"""


def test_help_option_errors_and_validation_import_no_torch_numpy_or_pandas():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.splitlines()[-1])
    assert "click" in report["modules"] and not set(HEAVY) & set(report["modules"])
    codes = report["codes"]
    assert {name for name, code in codes.items() if code == 0} == {"", *experiments.EXPERIMENTS, "plot", "report",
                                                                    "cluster"}
    assert {name: code for name, code in codes.items() if code} == {
        "train --N abc": 2, "train --bogus": 2, "train --delay 7": 2, "classify --surrogate nope": 2,
        "lyap --nle 999": 2}


def test_the_torch_side_registries_have_the_torch_free_names():
    assert tuple(DTYPES) == choices.DTYPES
    assert {name: shape.default_scale for name, shape in surrogate.SHAPES.items()} == choices.SURROGATES
    assert tuple(name for name, shape in surrogate.SHAPES.items() if not shape.uses_slope) == choices.SLOPE_FREE
    assert tuple(surrogate.ESCAPES) == choices.ESCAPES
    assert PARAMETERS == choices.SIGMOID_PARAMETERS
    assert executors.EXECUTORS == choices.EXECUTORS and results.FORMATS == choices.FORMATS
    assert TARGET_SHAPE == DEFAULT_SHAPE


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_each_experiment_names_an_importable_run_function_and_estimates_its_memory(name):
    experiment = experiments.EXPERIMENTS[name]
    run = experiment.run
    assert pickle.loads(pickle.dumps(run)) == run  # a worker receives the path
    function = run.load()
    assert callable(function) and run.path == f"{function.__module__}:{function.__name__}"
    assert experiment.config.task_bytes.__func__ is not RunConfig.task_bytes.__func__
    config = experiment.config()
    assert experiment.config.task_bytes([config]) > 0
