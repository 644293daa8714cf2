"""Driving a sampler in a loop, as a study would, and measuring what it suggests.

``optimize`` asks one trial at a time and tells it at once (tell = append a
finished record to the history).  ``pending_spread`` is the common criterion
for pending awareness: 20 finished trials, then 8 asks in a row, each seeing
the earlier ones as pending.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Callable

from asktell.config import Objective
from asktell.samplers import derive_seed, make_sampler
from asktell.space import Space
from asktell.trial import COMPLETE, TrialRecord
from tests.conftest import run_asktell
from tests.support import loss

ASKED_AT = "2024-01-01T00:00:00.000Z"
#: A trial's outcome: values by objective name, and constraints (or None).
Outcome = tuple[dict, "dict | None"]


def quadratic(params: dict) -> Outcome:
    """Minimum 0 at (0.3, -0.2)."""
    return {"loss": loss.quadratic(params)}, None


def mixed(params: dict) -> Outcome:
    """Only opt = b can reach 0 (at x = 0.3)."""
    return {"loss": {"a": 0.5, "b": 0.0, "c": 1.0}[params["opt"]] + (params["x"] - 0.3) ** 2}, None


def told(number: int, params: dict, outcome: Outcome) -> TrialRecord:
    values, constraints = outcome
    return TrialRecord(number, params, ASKED_AT, state=COMPLETE, values=values, constraints=constraints,
                       told_at=ASKED_AT)


def optimize(name: str, options: dict, objectives: tuple[Objective, ...], space: Space,
             evaluate: Callable[[dict], Outcome], trials: int, study_seed: int) -> list[TrialRecord]:
    """Ask and tell ``trials`` times, one at a time; the finished history."""
    sampler = make_sampler(name, options, study_seed, objectives)
    history: list[TrialRecord] = []
    for number in range(trials):
        params = sampler.suggest(space, history, [], derive_seed(study_seed, number))
        history.append(told(number, params, evaluate(params)))
    return history


def unit_point(space: Space, params: dict) -> list[float]:
    return [space.params[name].to_unit(value) for name, value in sorted(params.items())]


def mean_nearest_neighbour(points: list[list[float]]) -> float:
    return statistics.fmean(min(math.dist(p, q) for j, q in enumerate(points) if j != i)
                            for i, p in enumerate(points))


def batch_spread(name: str, options: dict, objectives: tuple[Objective, ...], space: Space,
                 evaluate: Callable[[dict], Outcome], study_seed: int) -> float:
    """Mean nearest-neighbour distance of 8 asks in a row after 20 finished (random) trials."""
    finished = optimize("random", {}, objectives, space, evaluate, 20, study_seed)
    sampler = make_sampler(name, options, study_seed, objectives)
    pending: list[TrialRecord] = []
    for number in range(20, 28):
        params = sampler.suggest(space, finished, pending, derive_seed(study_seed, number))
        pending.append(TrialRecord(number, params, ASKED_AT))
    return mean_nearest_neighbour([unit_point(space, t.params) for t in pending])


def pending_spread(name: str, options: dict, objectives: tuple[Objective, ...], space: Space,
                   evaluate: Callable[[dict], Outcome]) -> tuple[float, float]:
    """Median over 5 study seeds of the batch spread: (this sampler, uniform random points)."""
    def median(sampler_name: str, sampler_options: dict) -> float:
        return statistics.median(batch_spread(sampler_name, sampler_options, objectives, space, evaluate, seed)
                                 for seed in range(5))

    return median(name, options), median("random", {})


def cells_of_pending_asks_on_a_small_grid(name: str, seed: int) -> int:
    """How many distinct cells 8 asks in a row take (8: none handed out twice), after 20 random trials on 9 cells."""
    space = Space.from_shorthands(["opt=a,b,c", "n=1..3"])
    history = optimize("random", {}, loss.LOSS, space, loss.distance_to_point_three(space), 20, seed)
    sampler, pending = make_sampler(name, {}, seed, loss.LOSS), []
    for number in range(20, 28):
        params = sampler.suggest(space, history, pending, derive_seed(seed, number))
        pending.append(TrialRecord(number, params, ASKED_AT))
    return len({(t.params["opt"], t.params["n"]) for t in pending})


def cli_loop(study: Path, trials: int, evaluate: Callable[[dict], Outcome]) -> list[dict]:
    """Ask, evaluate, write ``result.yaml`` and tell through the real command; the trials as JSON."""
    for _ in range(trials):
        asked = run_asktell("ask", study, "--format", "json")
        assert asked.returncode == 0, asked.stderr
        trial = json.loads(asked.stdout)
        values, constraints = evaluate(trial["params"])
        result = {"values": values, **({"constraints": constraints} if constraints else {})}
        (Path(trial["path"]) / "result.yaml").write_text(json.dumps(result))  # JSON is YAML
        telling = run_asktell("tell", study, str(trial["trial"]))
        assert telling.returncode == 0, telling.stderr
    listed = run_asktell("trials", study, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)
