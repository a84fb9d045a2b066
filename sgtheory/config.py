"""The shared config machinery: the RunConfig base (seed, hashes), validation helpers, YAML files with profiles and
``--set`` grid expansion. Each experiment's Config class lives in its torch-free module of
``sgtheory.experiments.configs``; its ``run()`` in ``sgtheory.experiments``.

A config file is a YAML mapping of config keys (the same names as the CLI options and the result
columns), plus optional ``seeds`` (``"0-8"``, ``[0, 3]`` or ``4``) and ``profiles`` (named mappings
that override the top level, e.g. ``quick`` and ``paper``). Any key given a *list* becomes a grid
axis: ``delay: [10, 18]`` sweeps both delays. Precedence: dataclass defaults < file < profile <
CLI options < ``--set key=value``.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from sgtheory.errors import ConfigError


def parse_scale(value: Any) -> str | float | None:
    """A surrogate scale from YAML/CLI text: None, a number (peak value) or a name."""
    if value is None or isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def check_choice(name: str, value: Any, allowed, hint: str = "") -> None:
    """ConfigError unless ``value`` is one of ``allowed`` (``hint``: where the other choices live)."""
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}"
                          + (f" ({hint})" if hint else ""))


def check_positive(name: str, value: float, strict: bool = True) -> None:
    """ConfigError unless ``value`` is finite and > 0 (``strict``) or >= 0."""
    ok = math.isfinite(value) and (value > 0 if strict else value >= 0)
    if not ok:
        raise ConfigError(f"{name}={value!r} must be a {'positive' if strict else 'non-negative'} finite number")


def check_counts(config, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = ()) -> None:
    """ConfigError unless the integer fields ``positive`` of ``config`` are > 0 and ``non_negative`` ones >= 0."""
    for name in positive:
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name}={getattr(config, name)!r} must be a positive integer")
    for name in non_negative:
        if getattr(config, name) < 0:
            raise ConfigError(f"{name}={getattr(config, name)!r} must be >= 0")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What every run config has: a seed, its fields as a dict and the two hashes of the result rows."""

    seed: int = 0

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def condition_hash(self) -> str:
        """Hash of everything but the seed: runs that differ only by seed share it."""
        d = self.to_dict()
        d.pop("seed")
        return stable_hash(d)

    def run_id(self) -> str:
        return stable_hash(self.to_dict())

    def batch_key(self) -> str:
        """Runs with equal keys train together as one batched computation (default: those differing by seed)."""
        return self.condition_hash()

    @classmethod
    def task_bytes(cls, configs: Sequence[RunConfig]) -> float:
        """Estimated peak bytes of the tensors of one task: the runs ``configs`` (equal ``batch_key``) computed
        together. Every experiment's config class defines it (torch-free arithmetic on its fields);
        :mod:`sgtheory.memory` adds the process and compares the sum with the memory available."""
        raise NotImplementedError(f"{cls.__name__} has no memory estimate (task_bytes)")


RESERVED_KEYS = ("seeds", "profiles", "experiment")
MAX_RUNS = 100_000  # runs per command: more is a typo on any machine we know (the paper grids have < 2000)


def stable_hash(d: Mapping[str, Any]) -> str:
    """12-hex-digit SHA-1 of the canonical JSON of a mapping."""
    blob = json.dumps(d, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


def parse_seeds(value: Any) -> list[int]:
    """``"0-8"`` -> [0..8]; ``"0,2,5"``; ``[0, 2]``; ``3`` -> [3]."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            seeds = [value]
        elif isinstance(value, list | tuple):
            seeds = [int(v) for v in value]
        else:
            seeds = []
            for part in str(value).split(","):
                lo, sep, hi = part.strip().partition("-")
                if sep and int(hi) - int(lo) >= MAX_RUNS:
                    raise ConfigError(f"seeds={value!r} names {int(hi) - int(lo) + 1} seeds; at most {MAX_RUNS} "
                                      "runs per command (split the sweep)")
                seeds += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    except ConfigError:
        raise
    except (TypeError, ValueError):
        raise ConfigError(f"seeds={value!r} is not a seed list; use e.g. 0-8, 0,2,5 or 3") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds={value!r} must name distinct non-negative seeds, e.g. 0-8")
    return seeds


def _coerce(cls: type, key: str, value: Any) -> Any:
    """Convert a YAML/CLI value to the field's type, or raise a one-line ConfigError."""
    hint = get_type_hints(cls)[key]
    if key == "scale":
        return None if value is None else str(parse_scale(value))
    try:
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if hint is bool:
            if not isinstance(value, bool):
                raise ValueError
            return value
        if hint is str:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value!r} is not a valid {hint.__name__}") from None
    return value


def check_keys(cls: type, keys, where: str) -> None:
    allowed = [f.name for f in dataclasses.fields(cls) if f.name != "seed"]
    for key in keys:
        if key not in allowed and key not in RESERVED_KEYS:
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ConfigError(
                f"unknown config key '{key}' in {where}{hint}; allowed: seeds, {', '.join(allowed)}"
            )


def read_config_file(path: str | Path, profile: str | None, experiment: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a YAML config file: its top-level keys and those of ``profile`` (empty without one). The keys are checked
    against the experiment's config class by the caller (:func:`sgtheory.experiments.load_config_file`)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not a text file (not UTF-8); expected YAML") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if data is None:
        raise ConfigError(f"config file {path} is empty; expected a mapping of config keys to values")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    if data.get("experiment", experiment) != experiment:
        raise ConfigError(f"config file {path} is for '{data['experiment']}', not '{experiment}'")
    profiles = data.pop("profiles", {}) or {}
    data.pop("experiment", None)
    if profile is None:
        return data, {}
    if profile not in profiles:
        names = ", ".join(profiles) or "none defined"
        raise ConfigError(f"profile '{profile}' is not in {path}; available: {names}")
    return data, profiles[profile] or {}


def parse_set(items: tuple[str, ...]) -> dict[str, Any]:
    """``("delay=18", "slope=[0.5,1]")`` -> {"delay": 18, "slope": [0.5, 1]} (values parsed as YAML)."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r} is not key=value")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML") from None
    return out


def expand_grid(cls: type, overrides: Mapping[str, Any]) -> list:
    """Expand overrides (list values are grid axes, ``seeds`` a seed list) into validated run configs of ``cls``.

    Runs are ordered condition by condition, seeds innermost, so consecutive runs that share a
    condition can train together as one batched computation.
    """
    overrides = dict(overrides)
    check_keys(cls, overrides, "the configuration")
    seeds = parse_seeds(overrides.pop("seeds", 0))
    axes = {k: v if isinstance(v, list) else [v] for k, v in overrides.items()}
    for key, values in axes.items():
        if not values:
            raise ConfigError(f"{key}=[] is an empty grid axis")
    count = math.prod(map(len, axes.values())) * len(seeds)
    if count > MAX_RUNS:
        raise ConfigError(f"the configuration asks for {count} runs ({count // len(seeds)} conditions x {len(seeds)} "
                          f"seeds); at most {MAX_RUNS} runs per command (split the sweep)")
    runs = []
    for combo in itertools.product(*axes.values()):
        fields = {k: _coerce(cls, k, v) for k, v in zip(axes, combo, strict=True)}
        for seed in seeds:
            runs.append(cls(**fields, seed=seed))
    return runs


def field_help(cls: type) -> dict[str, str]:
    """The inline comment of each field, used as CLI help (parsed from the source once)."""
    import inspect

    helps = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        for line in inspect.getsource(klass).splitlines():
            name, sep, rest = line.strip().partition(":")
            if sep and "#" in rest and name.isidentifier():
                helps[name] = rest.split("#", 1)[1].strip()
    return helps
