"""``asktell plot``: every kind draws a real picture of a real study, conditional parameters included.

The studies (``tests/support/studies.py``) are built through the Python API
with complete, pruned, failed, infeasible and running trials and learning
curves; pictures are read back (PNG pixels, SVG text) rather than trusted.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import pytest

from asktell.errors import InvalidInput
from asktell.plots import KINDS, draw, plot, problem
from asktell.plots.figure import BEST_COLOUR, STATE_COLOURS, MissingExtra, image_bytes
from asktell.plots.timeline import lanes
from asktell.plots.view import View
from asktell.study import Study
from asktell.trial import COMPLETE, PRUNED, TrialRecord
from tests.conftest import run_asktell
from tests.support.images import colour_count, ink_share, png_pixels
from tests.support.studies import ONE, TWO, build_study

pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> dict[int, Study]:
    root = tmp_path_factory.mktemp("plots")
    return {1: build_study(root / "one", ONE), 2: build_study(root / "two", TWO)}


def view_of(study: Study, **chosen) -> View:
    return View.of(study.config, study.trials, **chosen)


def svg_text(data: bytes) -> str:
    """Every text of an SVG (matplotlib keeps text as text with ``svg.fonttype: none``)."""
    root = ET.fromstring(data)
    return "\n".join(t for element in root.iter() if element.tag.endswith("text") for t in element.itertext())


@pytest.mark.parametrize("objectives", [1, 2])
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_draws_a_png_and_an_svg_or_says_why_not(studies, tmp_path, kind, objectives) -> None:
    study = studies[objectives]
    view = view_of(study)
    if kind == "pareto" and objectives == 1:
        assert "one objective" in problem(view, kind)
        with pytest.raises(InvalidInput, match="one objective"):
            plot(view, kind, tmp_path / "p.png")
        return
    assert problem(view, kind) is None
    plot(view, kind, tmp_path / "p.png")
    plot(view, kind, tmp_path / "p.svg")
    png = (tmp_path / "p.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = png_pixels(png)
    assert pixels.shape[0] >= 300 and pixels.shape[1] >= 500
    assert ink_share(pixels) > 0.03, "the picture is nearly blank"
    assert len({tuple(p) for p in pixels.reshape(-1, 3)[::7]}) > 20, "too few colours for a plot"
    svg = (tmp_path / "p.svg").read_bytes()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert sum(1 for _ in root.iter()) > 100
    assert study.config.name in svg_text(svg)


def test_svg_is_the_same_bytes_every_time(studies) -> None:
    """A plot as a Makefile target: drawing it again from the same study changes nothing."""
    view = view_of(studies[2])
    assert image_bytes(draw(view, "slice"), "svg") == image_bytes(draw(view, "slice"), "svg")


def test_history_draws_the_best_so_far_line_over_the_trials(studies) -> None:
    pixels = png_pixels(image_bytes(draw(view_of(studies[1]), "history"), "png"))
    assert colour_count(pixels, BEST_COLOUR) > 300
    assert colour_count(pixels, STATE_COLOURS[COMPLETE]) > 300


def test_slice_shows_a_conditional_parameter_only_where_it_is_set(studies) -> None:
    study = studies[1]
    view = view_of(study)
    having = [t for t in view.scored() if "momentum" in t.params]
    assert 0 < len(having) < len(view.scored())
    text = svg_text(image_bytes(draw(view, "slice"), "svg"))
    assert f"momentum ({len(having)} of {len(view.scored())} trials)" in text
    assert f"opt ({len(view.scored())} of {len(view.scored())} trials)" in text


def test_parallel_coordinates_mark_absent_parameters_inactive(studies) -> None:
    text = svg_text(image_bytes(draw(view_of(studies[1]), "parallel-coordinates"), "svg"))
    assert text.count("inactive") == 1  # momentum only: every other parameter is always set
    assert "adam" in text and "sgd" in text


def test_contour_draws_the_pairs_asked_for_else_of_the_most_important(studies) -> None:
    study = studies[1]
    text = svg_text(image_bytes(draw(view_of(study, params=["x", "lr"]), "contour"), "svg"))
    assert "x \u00d7 lr" in text and text.count("\u00d7") == 1
    default = svg_text(image_bytes(draw(view_of(study), "contour"), "svg"))
    assert default.count("\u00d7") == 3
    assert "x \u00d7" in default  # x decides the loss: it is among the three


def test_intermediate_marks_pruned_curves(studies) -> None:
    study = studies[1]
    pruned = sum(t.state == PRUNED for t in study.trials)
    assert pruned
    figure = draw(view_of(study), "intermediate")
    assert f"pruned ({pruned})" in svg_text(image_bytes(figure, "svg"))
    assert colour_count(png_pixels(image_bytes(figure, "png")), STATE_COLOURS[PRUNED]) > 50


def test_pareto_front_is_the_feasible_non_dominated_trials(studies) -> None:
    study = studies[2]
    feasible = [t for t in study.trials if t.state == COMPLETE and not (t.constraints or {}).get("budget", 0) > 0]
    points = [(t.values["loss"], -t.values["acc"]) for t in feasible]
    front = [p for p in points if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points)]
    text = svg_text(image_bytes(draw(view_of(study), "pareto"), "svg"))
    assert f"Pareto front ({len(front)})" in text


def test_an_objective_to_plot_is_chosen_by_name(studies) -> None:
    text = svg_text(image_bytes(draw(view_of(studies[2], objective="acc"), "history"), "svg"))
    assert "acc (maximize)" in text


@pytest.mark.parametrize("chosen, field", [({"objective": "nope"}, "--objective"), ({"params": ["x", "nope"]},
                                                                                     "--params")])
def test_unknown_names_are_input_errors(studies, chosen, field) -> None:
    with pytest.raises(InvalidInput) as error:
        view_of(studies[1], **chosen)
    assert error.value.field == field and error.value.value == "nope"


def test_an_empty_study_says_why_each_kind_cannot_be_drawn(tmp_path) -> None:
    study = Study.create(tmp_path / "empty", {"x": "0..1"}, objectives=TWO, sampler="random")
    view = view_of(study)
    assert all(problem(view, kind) for kind in KINDS)


def test_timeline_lanes_follow_concurrency_per_host() -> None:
    def trial(number: int, host: str, start: int, end: int | None) -> TrialRecord:
        at = "2024-01-01T00:00:{:02d}.000Z"
        return TrialRecord(number, {}, at.format(start), host=host, state=COMPLETE if end else "running",
                           told_at=at.format(end) if end else None)

    trials = [trial(0, "a", 0, 10), trial(1, "a", 1, 5), trial(2, "a", 6, 9), trial(3, "b", 2, 30),
              trial(4, "a", 11, None)]
    placed = lanes(trials, now=1704067250.0)
    assert {key: [t.number for t, _, _ in bars] for key, bars in placed.items()} == {
        ("a", 0): [0, 4], ("a", 1): [1, 2], ("b", 0): [3]}
    assert placed[("a", 0)][1][2] == 1704067250.0  # a running trial reaches up to now


def test_missing_matplotlib_names_the_extra(studies, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingExtra, match=r"asktell\[plots\]"):
        draw(view_of(studies[1]), "history")


def test_plot_command_writes_the_file_or_fails_with_exit_2(studies, tmp_path) -> None:
    study = studies[2].path
    result = run_asktell("plot", study, "slice", "-o", tmp_path / "s.svg", "--params", "momentum,x")
    assert result.returncode == 0, result.stderr
    assert "momentum (" in svg_text((tmp_path / "s.svg").read_bytes())
    for args in (["history", "-o", tmp_path / "h.pdf"], ["slice", "-o", tmp_path / "s.png", "--params", "lr,y"],
                 ["history", "-o", tmp_path / "h.png", "--objective", "nope"]):
        result = run_asktell("plot", study, *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "h.pdf").exists() and not (tmp_path / "h.png").exists()
