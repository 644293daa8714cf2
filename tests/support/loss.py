"""What the model-based samplers' own tests share: one objective, ``loss``, and the problems they solve.

``optimise_in_batches`` asks like array jobs do (each ask sees the earlier
ones as pending); ``distance_to_point_three`` and ``SPREAD_SPACES`` are the
pending-spread criterion's problem; ``quadratic``, ``mixed`` and
``conditional`` the "finds the optimum region" problems.
"""

from __future__ import annotations

from asktell.config import Objective
from asktell.samplers import derive_seed
from asktell.space import Space
from asktell.trial import COMPLETE, TrialRecord
from tests.test_samplers import journal_copy

ASKED_AT = "2024-01-01T00:00:00.000Z"
LOSS = (Objective("loss", "minimize"),)
SPREAD_SPACES = [["x=-1.0..1.0", "y=-1.0..1.0"], ["x=0.0..1.0", "lr=1e-5..1e-1:log", "n=1..8", "opt=a,b,c"]]


def told(number: int, params: dict, loss: float | None = None, state: str = COMPLETE, **extra) -> TrialRecord:
    values = None if loss is None else {"loss": loss}
    return TrialRecord(number, journal_copy(params), ASKED_AT, state=state, values=values, **extra)


def optimise_in_batches(sampler, space: Space, objective, budget: int, seed: int, batch: int = 1) -> list[TrialRecord]:
    """Ask ``batch`` trials (each seeing the earlier ones as pending), tell them all, until ``budget``."""
    history: list[TrialRecord] = []
    while len(history) < budget:
        pending: list[TrialRecord] = []
        for _ in range(batch):
            number = len(history) + len(pending)
            params = sampler.suggest(space, history, pending, derive_seed(seed, number))
            pending.append(TrialRecord(number, journal_copy(params), ASKED_AT))
        history += [told(t.number, t.params, objective(t.params)) for t in pending]
    return history


def best(history: list[TrialRecord]) -> float:
    return min(t.values["loss"] for t in history if t.values)


def distance_to_point_three(params_space: Space):
    """The loss of the spread tests: squared distance to 0.3 in every unit coordinate."""
    return lambda params: ({"loss": sum((params_space.params[name].to_unit(value) - 0.3) ** 2
                                        for name, value in params.items())}, None)


def quadratic(params: dict) -> float:
    return (params["x"] - 0.3) ** 2 + (params["y"] + 0.2) ** 2


def mixed(params: dict) -> float:
    return {"a": 1.0, "b": 0.0, "c": 0.5}[params["opt"]] + (params["x"] - 0.7) ** 2


def conditional(params: dict) -> float:
    """The best branch has its own parameter: opt == sgd with momentum near 0.9 (and x near 0.5)."""
    branch = 0.3 if params["opt"] == "adam" else (params["momentum"] - 0.9) ** 2
    return branch + (params["x"] - 0.5) ** 2
