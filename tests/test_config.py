import pytest
import yaml

from sgtheory.config import parse_seeds, parse_set
from sgtheory.errors import ConfigError
from sgtheory.experiments import expand, load_config_file
from sgtheory.experiments.configs.train import TrainConfig


@pytest.mark.parametrize(
    ("text", "seeds"), [("0-8", list(range(9))), ("0,3,5", [0, 3, 5]), (4, [4]), ([1, 2], [1, 2]), ("2-3,7", [2, 3, 7])]
)
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("bad", ["a-b", "3-1", "-1", "1,1", [], True])
def test_parse_seeds_rejects(bad):
    with pytest.raises(ConfigError, match="seeds"):
        parse_seeds(bad)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"task": "foo"}, "task='foo' is not allowed; choose one of: xor, copy"),
        ({"model": "gru"}, "model='gru' is not allowed"),
        ({"surrogate": "atan"}, "surrogate='atan' is not allowed"),
        ({"delay": 17}, "odd"),
        ({"delay": 300, "T": 300}, "smaller than the sequence length"),
        ({"N": 0}, "N=0 must be a positive integer"),
        ({"batch": -2}, "batch=-2"),
        ({"lr": 0.0}, "lr=0.0 must be a positive"),
        ({"slope": -1.0}, "slope"),
        ({"N": 2.5}, "N=2.5 is not a valid int"),
        ({"delayy": 10}, "did you mean 'delay'"),
        ({"diff_reset": 1}, "diff_reset=1 is not a valid bool"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        expand("train", overrides)


def test_copy_task_accepts_odd_delay():
    assert expand("train", {"task": "copy", "delay": 7})[0].delay == 7


def test_grid_expansion_orders_seeds_innermost():
    runs = expand("train", {"delay": [10, 18], "slope": [0.5, 1.0], "seeds": "0-2"})
    assert len(runs) == 12
    assert [r.seed for r in runs[:3]] == [0, 1, 2]
    assert len({r.condition_hash() for r in runs}) == 4
    assert len({r.run_id() for r in runs}) == 12
    assert runs[0].condition_hash() == runs[2].condition_hash() and runs[0].run_id() != runs[2].run_id()


def test_scale_resolves_to_the_shape_default_so_equal_surrogates_hash_equal():
    default = TrainConfig(surrogate="fast_sigmoid")
    explicit = TrainConfig(surrogate="fast_sigmoid", scale="normalized")
    assert default.scale == "normalized" and default.run_id() == explicit.run_id()
    assert TrainConfig(surrogate="sigmoid").scale == "asymptotic"
    assert TrainConfig(scale="2.5").spike_surrogate().peak == pytest.approx(2.5)


def test_hash_is_stable_and_sensitive():
    assert TrainConfig().run_id() == TrainConfig().run_id()
    assert TrainConfig(gain=1.5).run_id() != TrainConfig().run_id()
    assert TrainConfig(seed=1).condition_hash() == TrainConfig(seed=2).condition_hash()


def test_config_file_profiles_and_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({
        "experiment": "train", "N": 40, "delay": 10,
        "profiles": {"quick": {"N": 20, "seeds": "0-1"}, "paper": {"delay": [10, 14]}},
    }))
    quick = load_config_file(path, "quick", "train")
    assert quick == {"N": 20, "delay": 10, "seeds": "0-1"}
    assert load_config_file(path, None, "train") == {"N": 40, "delay": 10}
    runs = expand("train", {**load_config_file(path, "paper", "train"), **parse_set(("N=12",))})
    assert [(r.N, r.delay) for r in runs] == [(12, 10), (12, 14)]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("N: [1, 2", "not valid YAML"),
        ("- 1\n- 2\n", "must hold a mapping"),
        ("experiment: lyap\n", "is for 'lyap'"),
        ("gian: 1.0\n", "did you mean 'gain'"),
        ("profiles: {quick: {Nn: 3}}\n", "unknown config key 'Nn'"),
    ],
)
def test_bad_config_files(tmp_path, content, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        expand("train", load_config_file(path, "quick" if "profiles" in content else None, "train"))


def test_missing_profile_and_unreadable_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("N: 3\nprofiles: {quick: {}}\n")
    with pytest.raises(ConfigError, match="profile 'paper' is not in .*available: quick"):
        load_config_file(path, "paper", "train")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config_file(tmp_path / "absent.yaml", None, "train")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config_file(tmp_path, None, "train")


def test_parse_set():
    assert parse_set(("delay=18", "slope=[0.5, 1]", "scale=asymptotic")) == {
        "delay": 18, "slope": [0.5, 1], "scale": "asymptotic"}
    with pytest.raises(ConfigError, match="not key=value"):
        parse_set(("delay",))


def test_shipped_configs_expand(tmp_path):
    from pathlib import Path

    import yaml

    for path in Path(__file__).parents[1].glob("configs/*.yaml"):
        experiment = yaml.safe_load(path.read_text())["experiment"]
        for profile in ("quick", "paper"):
            overrides = load_config_file(path, profile, experiment)
            assert expand(experiment, overrides)
