"""Rendering parameters, trials and studies for shells, Makefiles and people.

Everything here is a pure function from records to text, so the CLI stays a
thin layer and the formats can be tested without running a command.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import time
from typing import Iterable, Sequence

from .config import StudyConfig
from .fileio import dump_yaml
from .space import format_scalar
from .trial import STATES, TrialRecord


def variable_name(name: str) -> str:
    """``n_layers`` -> ``N_LAYERS``; anything not a letter or digit becomes ``_``."""
    return re.sub(r"\W", "_", name).upper()


def option_name(name: str) -> str:
    """``n_layers`` -> ``--n-layers``, the usual spelling of a command-line flag."""
    return "--" + re.sub(r"[\W_]", "-", name).lower()


def render_params(params: dict, fmt: str, extra_env: dict | None = None) -> str:
    """``params`` as yaml, json, env (``NAME=value`` lines for eval), args or make."""
    if fmt == "yaml":
        return dump_yaml(params)
    if fmt == "json":
        return json.dumps(params) + "\n"
    if fmt == "env":
        pairs = {**(extra_env or {}), **{variable_name(k): format_scalar(v) for k, v in params.items()}}
        return "".join(f"{k}={shlex.quote(str(v))}\n" for k, v in pairs.items())
    if fmt == "args":
        return " ".join(f"{option_name(k)} {shlex.quote(format_scalar(v))}" for k, v in params.items()) + "\n"
    if fmt == "make":
        return " ".join(f"{variable_name(k)}={shlex.quote(format_scalar(v))}" for k, v in params.items()) + "\n"
    raise ValueError(fmt)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours < 48 else f"{hours // 24}d{hours % 24:02d}h"


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``2h``, ``1d`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (write e.g. 90s, 30m, 2h, 1d)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def describe_values(values: dict | None) -> str:
    return " ".join(f"{k}={format_scalar(v)}" for k, v in (values or {}).items())


def _param_names(config: StudyConfig) -> list[str]:
    return list(config.space.params)


def trial_rows(records: Iterable[TrialRecord], config: StudyConfig) -> tuple[list[str], list[list]]:
    """Header and rows: one column per parameter and per objective (absent ones empty)."""
    names = _param_names(config)
    objectives = [o.name for o in config.objectives]
    header = ["trial", "state", *objectives, *names, "duration_s", "host", "asked_at"]
    rows = []
    for t in records:
        values = t.values or {}
        duration = t.duration
        rows.append([t.number, t.state, *(values.get(o, "") for o in objectives),
                     *(t.params.get(n, "") for n in names),
                     "" if duration is None else round(duration, 3), t.host or "", t.asked_at])
    return header, rows


def render_trials(records: Sequence[TrialRecord], config: StudyConfig, fmt: str) -> str:
    """Every trial as table, csv (one column per parameter and objective), json (a list) or jsonl (a line each)."""
    if fmt == "json":
        return json.dumps([t.to_dict() for t in records], indent=1) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(t.to_dict()) + "\n" for t in records)
    header, rows = trial_rows(records, config)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[format_scalar(c) if c != "" else "" for c in row] for row in rows])
        return out.getvalue()
    if fmt == "table":
        cells = [header] + [[_cell(c) for c in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
        return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n" for r in cells)
    raise ValueError(fmt)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value == "" else format_scalar(value)


def render_best(records: Sequence[TrialRecord], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([t.to_dict() for t in records] if len(records) != 1 else records[0].to_dict()) + "\n"
    if fmt == "yaml":
        return dump_yaml([t.to_dict() for t in records] if len(records) != 1 else records[0].to_dict())
    if fmt == "env":
        if len(records) != 1:
            raise ValueError("env shows one trial; this study's Pareto front has several (use yaml or json)")
        best = records[0]
        env = {"ASKTELL_TRIAL": best.number}
        env.update({variable_name(k): v for k, v in (best.values or {}).items()})
        return render_params(best.params, "env", extra_env=env)
    raise ValueError(fmt)


def render_status(config: StudyConfig, counts: dict, best: Sequence[TrialRecord],
                  running: Sequence[TrialRecord], queued: int = 0, now: float | None = None) -> str:
    now = time.time() if now is None else now
    objectives = ", ".join(f"{o.direction} {o.name}" for o in config.objectives) or "no objective (a sweep)"
    lines = [f"study {config.name}: {config.sampler} sampler, {objectives}"]
    total = sum(counts.values())
    budget = f" of {config.max_trials}" if config.max_trials else ""
    lines.append(f"trials: {total}{budget} -- " + ", ".join(f"{counts[s]} {s}" for s in STATES))
    if queued:
        lines.append(f"queued: {queued} parameter sets, handed out by the next asks")
    if not best and config.objectives:
        lines.append("best: none yet")
    for t in best:
        params = ", ".join(f"{k}={format_scalar(v)}" for k, v in t.params.items())
        lines.append(f"best: trial {t.number}: {describe_values(t.values)} ({params})")
    if running:
        lines.append("running:")
        for t in running:
            heartbeat = f"  last heartbeat {format_duration(t.silence(now))} ago" if t.heartbeat_at else ""
            lines.append(f"  trial {t.number}  age {format_duration(t.age(now))}{heartbeat}  host {t.host}  pid {t.pid}"
                         + (f"  key {t.key}" if t.key else ""))
    return "\n".join(lines) + "\n"
