"""``asktell report-html``: one self-contained page about a study -- status, best trials, every plot.

Self-contained means it opens with no network and no other file: the CSS is
inline and each plot is a PNG inlined as base64.  PNG rather than inline SVG:
matplotlib's SVGs each define ids (clip paths, markers) that may collide when
several share one page, and an ``<img>`` keeps every plot isolated.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Sequence

from .output import format_duration
from .plots import KINDS, draw, problem
from .plots.figure import image_bytes
from .plots.view import View
from .space import format_scalar
from .trial import STATES, TrialRecord, now_iso

#: The best-trials table shows at most this many rows of a Pareto front.
MAX_BEST_ROWS = 50

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1250px; color: #222; background: #fff; }
h1 { margin-bottom: 0.2em; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; }
td.text { text-align: left; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; border: 1px solid #e5e5e5; }
figcaption { font-weight: bold; margin-bottom: 0.3em; }
.skipped { color: #666; }
"""


def render_report(view: View, counts: dict[str, int], queued: int, best: Sequence[TrialRecord]) -> str:
    """The page as HTML text: ``counts`` per state, ``queued`` parameter sets, the ``best`` trials."""
    config = view.config
    objectives = ", ".join(f"{o.direction} {o.name}" for o in config.objectives)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>asktell study {escape(config.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Study {escape(config.name)}</h1>",
        f'<p class="meta">{escape(objectives)}; {escape(config.sampler)} sampler, seed {config.seed}; '
        f"report written {escape(now_iso())}</p>",
        "<h2>Status</h2>",
        _status_table(counts, queued, config.max_trials),
        "<h2>Best trial" + ("s (Pareto front)" if len(config.objectives) > 1 else "") + "</h2>",
        _best_table(view, best),
        "<h2>Plots</h2>",
    ]
    skipped = []
    for kind in KINDS:
        reason = problem(view, kind)
        if reason is not None:
            skipped.append(f"{kind}: {reason}")
            continue
        png = base64.b64encode(image_bytes(draw(view, kind), "png")).decode("ascii")
        parts.append(f'<figure id="{kind}"><figcaption>{kind}</figcaption>'
                     f'<img alt="{kind} plot" src="data:image/png;base64,{png}"></figure>')
    if skipped:
        parts.append('<p class="skipped">Not drawn: ' + "; ".join(escape(s) for s in skipped) + ".</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _status_table(counts: dict[str, int], queued: int, max_trials: int | None) -> str:
    total = sum(counts.values())
    rows = [(state, counts.get(state, 0)) for state in STATES] + [("total", total)]
    if max_trials:
        rows.append(("budget (max trials)", max_trials))
    if queued:
        rows.append(("queued parameter sets", queued))
    body = "".join(f'<tr><td class="text">{escape(name)}</td><td>{count}</td></tr>' for name, count in rows)
    return f"<table><tr><th>state</th><th>trials</th></tr>{body}</table>"


def _best_table(view: View, best: Sequence[TrialRecord]) -> str:
    if not best:
        return "<p>No complete trial yet.</p>"
    names = [o.name for o in view.config.objectives]
    params = list(view.config.space.params)
    header = "".join(f"<th>{escape(h)}</th>" for h in ["trial", *names, *params, "duration", "host"])
    rows = []
    for t in list(best)[:MAX_BEST_ROWS]:
        cells = [str(t.number), *(_number((t.values or {}).get(n)) for n in names),
                 *(_value(t.params[p]) if p in t.params else "" for p in params),
                 format_duration(t.duration), t.host or ""]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    more = f"<p>and {len(best) - MAX_BEST_ROWS} more.</p>" if len(best) > MAX_BEST_ROWS else ""
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>{more}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _value(value: object) -> str:
    """A parameter value for people: floats to 6 significant digits (exact ones are in ``asktell trials``)."""
    return f"{value:.6g}" if isinstance(value, float) else format_scalar(value)
