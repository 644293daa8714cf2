"""``asktell report-html``: one page that needs nothing else, and a browser shows its plots."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from asktell.html_report import render_report
from asktell.plots import KINDS
from asktell.plots.figure import BEST_COLOUR, STATE_COLOURS
from asktell.plots.view import View
from asktell.trial import COMPLETE, PRUNED
from tests.conftest import run_asktell
from tests.support.images import colour_count, ink_share, png_pixels
from tests.support.studies import ONE, TWO, build_study

pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")

IMAGE = re.compile(r'<figure id="([\w-]+)"><figcaption>[\w-]+</figcaption><img alt="[^"]*" '
                   r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"></figure>')
#: Chromium as root, offline: the flags a closed machine needs (no sandbox, no background connections).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("report")
    return {1: build_study(root / "one", ONE, trials=20), 2: build_study(root / "two", TWO, trials=20)}


def report_of(study) -> str:
    history = study.history()
    return render_report(View.of(study.config, history.trials), history.counts, len(history.queue),
                         study.best_trials(history))


def embedded_pngs(page: str) -> dict[str, bytes]:
    return {kind: base64.b64decode(data) for kind, data in IMAGE.findall(page)}


@pytest.mark.parametrize("objectives", [1, 2])
def test_the_page_holds_everything_it_shows(studies, objectives) -> None:
    study = studies[objectives]
    page = report_of(study)
    assert not re.search(r"(src|href)=\"(?!data:)|<link|<script|url\(|@import", page), "the page refers outside"
    images = embedded_pngs(page)
    expected = [k for k in KINDS if not (k == "pareto" and objectives == 1)]
    assert list(images) == expected
    assert all(png.startswith(b"\x89PNG") and ink_share(png_pixels(png)) > 0.03 for png in images.values())
    if objectives == 1:
        assert "Not drawn: pareto: the study has one objective" in page
    counts = study.history().counts
    assert f"<td class=\"text\">{COMPLETE}</td><td>{counts[COMPLETE]}</td>" in page
    for best in study.best_trials():
        assert f"<tr><td>{best.number}</td>" in page


def test_report_html_command_writes_the_page(studies, tmp_path) -> None:
    result = run_asktell("report-html", studies[2].path, "-o", tmp_path / "report.html")
    assert result.returncode == 0, result.stderr
    assert len(embedded_pngs((tmp_path / "report.html").read_text())) == len(KINDS)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing and allowed (CI runs as root on Debian)."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, timeout=1200)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
    return found


@pytest.mark.slow
def test_a_headless_browser_shows_every_plot(studies, chromium, tmp_path) -> None:
    """The screenshot of the page holds the plots' own colours, as many pixels of them as the images have."""
    page = report_of(studies[2])
    (tmp_path / "report.html").write_text(page)
    images = [png_pixels(png) for png in embedded_pngs(page).values()]
    height = sum(image.shape[0] for image in images) + 120 * len(images) + 900
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                        f"--window-size=1280,{height}", (tmp_path / "report.html").as_uri()],
                       capture_output=True, timeout=120, check=True)
    pixels = png_pixels(shot.read_bytes())
    assert pixels.shape[:2] == (height, 1280)
    plots_area = pixels[700:]  # below the heading, status and best-trial tables
    assert ink_share(plots_area) * plots_area[..., 0].size >= 0.9 * sum(ink_share(i) * i[..., 0].size for i in images)
    for colour in (BEST_COLOUR, STATE_COLOURS[COMPLETE], STATE_COLOURS[PRUNED]):
        in_images = sum(colour_count(image, colour) for image in images)
        assert in_images > 200
        assert colour_count(pixels, colour) >= 0.9 * in_images, f"{colour}: plots missing from the screenshot"
