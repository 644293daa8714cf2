"""ask drafts its suggestion outside the lock and keeps it only if the journal did not move.

Model-based samplers take milliseconds to tens of milliseconds; drafting
outside keeps that out of the lock's hold time, but a draft made from a
journal that has since grown must not be used (a grid cell or a trial
number could be handed out twice).
"""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from asktell import Study
from asktell.samplers import SAMPLERS
from asktell.samplers.random import RandomSampler


class WatchingSampler(RandomSampler):
    """Random suggestions that note, on each call, whether the study's lock was held."""

    name = "watching"
    calls: list[bool] = []
    #: Called once during the first suggestion (e.g. another process asking meanwhile).
    meanwhile = None

    def suggest(self, space, history, pending, seed):
        WatchingSampler.calls.append((self.study_path / ".lock").exists())
        if WatchingSampler.meanwhile is not None:
            action, WatchingSampler.meanwhile = WatchingSampler.meanwhile, None
            action()
        return super().suggest(space, history, pending, seed)


@pytest.fixture
def watched(tmp_path, monkeypatch):
    """A study whose sampler is the watching one, and that class as the registry imports it."""
    path = tmp_path / "study"
    # A short lock timeout: if the sampler ran under the lock, the nested ask below would fail, not hang.
    Study.create(path, {"x": {"type": "float", "low": 0, "high": 1}}, seed=1, lock={"timeout_seconds": 2})
    monkeypatch.setitem(SAMPLERS, "watching", f"{__name__}:WatchingSampler")
    sampler = importlib.import_module(__name__).WatchingSampler
    monkeypatch.setattr(sampler, "study_path", path, raising=False)
    monkeypatch.setattr(sampler, "calls", [])
    study = Study.open(path)
    study.config = dataclasses.replace(study.config, sampler="watching")
    return study, sampler


def test_an_uncontended_ask_suggests_once_and_outside_the_lock(watched):
    study, sampler = watched
    study.ask()
    assert sampler.calls == [False]


def test_a_draft_from_a_journal_that_moved_is_made_again_under_the_lock(watched):
    study, sampler = watched
    sampler.meanwhile = lambda: Study.open(study.path).ask()  # another process asks meanwhile
    asked = study.ask()
    assert sampler.calls == [False, True]  # the draft, then the decision under the lock
    assert asked.number == 1  # not trial 0, which the draft would have been
    assert [t.number for t in Study.open(study.path).trials] == [0, 1]
