"""``write_report``: one self-contained HTML file (or a folder of PNGs) describing a finished study.

Figures are drawn once with matplotlib and embedded as inline SVG with text kept as text, so
the file needs no script, no network and no fonts to open, and its labels can be searched.
"""

from __future__ import annotations

import html
import io
import itertools
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from mtlsearch._outputs import check_output_dir, check_output_file, staged_folder, write_text_atomic
from mtlsearch._strict import from_plain
from mtlsearch.analysis._gain import seesaw, stored_baselines, trial_gains
from mtlsearch.analysis._hypervolume import hypervolume_history
from mtlsearch.analysis._utilisation import UTILISATION_ATTR
from mtlsearch.errors import MtlsearchError
from mtlsearch.search import (
    StudyConfig,
    column_decimals,
    infeasible_trials,
    is_feasible,
    load_study,
    metric_names,
    pareto_trials,
    pick_trial,
    trial_row,
)
from mtlsearch.search._optimize import STUDY_ATTR

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "report_figures", "write_report"]

FORMATS = ("html", "png")
MAX_HEATMAP_TRIALS = 4  # utilisation heatmaps for the knee trial and up to this many Pareto trials in all
_DOMINATED, _FRONT, _GAIN_UP, _GAIN_DOWN = "#b0b0b0", "#1f77b4", "#2ca02c", "#d62728"
_INFEASIBLE = "#ff7f0e"


def _directions(study: optuna.Study) -> list[str]:
    return [d.name.lower() for d in study.directions]


def _reference(study: optuna.Study) -> tuple[float, ...] | None:
    plain = study.user_attrs.get(STUDY_ATTR)
    if not plain:
        return None
    return from_plain(StudyConfig, plain, "stored study").reference_point


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _front_limits(values: np.ndarray) -> tuple[float, float]:
    """Axis limits around the front's values with a 12% margin (a flat range gets one too)."""
    low, high = float(values.min()), float(values.max())
    margin = 0.12 * (high - low) if high > low else max(abs(high) * 0.01, 1e-6)
    return low - margin, high + margin


def _place_labels(ax: Any, points: list[tuple[float, float]], labels: list[str]) -> list[Any]:
    """Annotate ``points`` with ``labels`` so that no two labels overlap each other or a labelled
    point: each label takes the first free spot among 8 directions at growing distances (greedy,
    in display coordinates, after the layout is final)."""
    renderer = ax.figure.canvas.get_renderer()
    taken: list[Any] = []  # display-space boxes already used
    pixels_per_point = ax.figure.dpi / 72.0
    for x, y in points:  # the markers themselves
        cx, cy = ax.transData.transform((x, y))
        half = 4 * pixels_per_point
        taken.append((cx - half, cy - half, cx + half, cy + half))
    directions = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (0, 1), (-1, 0), (0, -1)]
    placed = []
    for (x, y), label in zip(points, labels):
        annotation = None
        for radius in (5, 10, 16, 24, 34, 46, 60):
            for dx, dy in directions:
                if annotation is not None:
                    annotation.remove()
                annotation = ax.annotate(
                    label,
                    (x, y),
                    textcoords="offset points",
                    xytext=(dx * radius, dy * radius),
                    ha="left" if dx > 0 else "right" if dx < 0 else "center",
                    va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                    fontsize="small",
                    arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.5} if radius > 10 else None,
                )
                box = annotation.get_window_extent(renderer)
                if not any(_overlap((box.x0, box.y0, box.x1, box.y1), other) for other in taken):
                    break
            else:
                continue
            break
        box = annotation.get_window_extent(renderer)
        taken.append((box.x0, box.y0, box.x1, box.y1))
        placed.append(annotation)
    return placed


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _pareto_figure(study: optuna.Study, trials: list[FrozenTrial], front: list[FrozenTrial]) -> Figure:
    """Per pair of objectives: the front zoomed in (its trials labelled; dominated trials inside the
    window shown) beside the full view of every completed trial, so far-off dominated trials no
    longer squeeze the front into a corner."""
    names, directions = metric_names(study), _directions(study)
    front_ids = {t.number for t in front}
    pairs = list(itertools.combinations(range(len(names)), 2))[:6] or [(0, 0)]
    figure = _figure(9.0, 4.2 * len(pairs))
    grid = figure.subplots(len(pairs), 2, squeeze=False, gridspec_kw={"width_ratios": [3, 2]})
    to_label = []
    for (zoom, full), (i, j) in zip(grid, pairs):
        if i == j:  # one objective: value per trial
            for ax in (zoom, full):
                ax.scatter([t.number for t in trials], [t.values[0] for t in trials], color=_FRONT)
                ax.set_xlabel("trial")
                ax.set_ylabel(f"{names[0]} ({directions[0]})")
            full.set_visible(False)
            continue
        dominated = [t for t in trials if t.number not in front_ids and is_feasible(t)]
        infeasible = [t for t in trials if not is_feasible(t)]
        ordered = sorted(front, key=lambda t: t.values[i])
        for ax in (zoom, full):
            ax.scatter(
                [t.values[i] for t in dominated], [t.values[j] for t in dominated], color=_DOMINATED, label="dominated"
            )
            if infeasible:  # broke the study's constraints: shown apart, never on the front
                ax.scatter(
                    [t.values[i] for t in infeasible],
                    [t.values[j] for t in infeasible],
                    marker="x",
                    color=_INFEASIBLE,
                    label="infeasible (constraints)",
                )
            ax.plot(
                [t.values[i] for t in ordered], [t.values[j] for t in ordered], "o-", color=_FRONT, label="Pareto front"
            )
            ax.set_xlabel(f"{names[i]} ({directions[i]})")
            ax.set_ylabel(f"{names[j]} ({directions[j]})")
        zoom.set_xlim(*_front_limits(np.array([t.values[i] for t in front])))
        zoom.set_ylim(*_front_limits(np.array([t.values[j] for t in front])))
        zoom.set_title("Pareto front (zoomed; labels: trial numbers)", fontsize="medium")
        zoom.legend(loc="best", fontsize="small")
        full.set_title(f"all {len(trials)} completed trials", fontsize="medium")
        x0, x1 = zoom.get_xlim()
        y0, y1 = zoom.get_ylim()
        full.add_patch(_window(x0, y0, x1 - x0, y1 - y0))
        to_label.append((zoom, [(t.values[i], t.values[j]) for t in ordered], [str(t.number) for t in ordered]))
    figure.suptitle(f"Pareto front of {study.study_name} ({len(trials)} completed trials)")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # a canvas with a renderer, to measure the labels
    figure.draw_without_rendering()  # settle the layout, then freeze it: labels are placed in pixels
    figure.set_layout_engine("none")
    for ax, points, labels in to_label:
        _place_labels(ax, points, labels)
    return figure


def _window(x: float, y: float, width: float, height: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), width, height, fill=False, linestyle="--", edgecolor=_FRONT, label="zoomed window")


def _hypervolume_figure(record: dict[str, Any]) -> Figure:
    figure = _figure(6.0, 3.6)
    ax = figure.subplots()
    ax.plot([n for n, _ in record["history"]], [v for _, v in record["history"]], "o-", color=_FRONT)
    ax.set_xlabel("trial")
    ax.set_ylabel("hypervolume")
    reference = ", ".join(f"{v:.4g}" for v in record["reference"])
    ax.set_title(f"Hypervolume of the front after each trial (reference {reference})", fontsize="medium")
    return figure


IMPORTANCE_EVALUATOR = "PED-ANOVA"  # Optuna 5's default evaluator, and optuna-dashboard's


def _importances(study: optuna.Study, names: list[str]) -> dict[str, dict[str, float] | str]:
    """Parameter importance per objective, or the reason it is unavailable.

    The same computation as optuna-dashboard's (0.21): Optuna's default evaluator in Optuna 5,
    :class:`optuna.importance.PedAnovaImportanceEvaluator` (Watanabe et al., 2023), on the
    objective negated when it is maximised, so the report and the dashboard agree. (The report
    used fANOVA before: a different method, hence different numbers.)
    """
    out: dict[str, dict[str, float] | str] = {}
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    for i, name in enumerate(names):
        if len(complete) < 2:
            out[name] = f"needs at least 2 completed trials, the study has {len(complete)}"
            continue
        sign = -1.0 if study.directions[i] == optuna.study.StudyDirection.MAXIMIZE else 1.0
        try:
            with warnings.catch_warnings():  # PED-ANOVA's note that it favours low targets: ours are signed
                warnings.filterwarnings("ignore", message="PedAnovaImportanceEvaluator computes")
                values = optuna.importance.get_param_importances(
                    study,
                    evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
                    target=lambda t, i=i, sign=sign: sign * t.values[i],
                )
        except (ValueError, RuntimeError) as error:
            out[name] = f"not available: {error}"
            continue
        out[name] = values or "not available: no parameter separates the best 10% of trials from the rest"
    return out


def _importance_figure(importances: dict[str, dict[str, float] | str]) -> Figure | None:
    shown = {name: value for name, value in importances.items() if isinstance(value, dict) and value}
    if not shown:
        return None
    height = 1.2 + 0.3 * max(len(v) for v in shown.values())
    figure = _figure(4.5 * len(shown), height)
    for ax, (name, values) in zip(figure.subplots(1, len(shown), squeeze=False)[0], shown.items()):
        params = list(values)[::-1]  # largest on top
        ax.barh(params, [values[p] for p in params], color=_FRONT)
        ax.set_xlabel("importance")
        ax.set_title(name)
    figure.suptitle(f"Parameter importance per objective ({IMPORTANCE_EVALUATOR}, as in optuna-dashboard)")
    return figure


def _gain_figure(study: optuna.Study, front: list[FrozenTrial]) -> Figure:
    names = metric_names(study)
    figure = _figure(max(5.0, 1.2 * len(front) * len(names) / 2 + 2), 3.8)
    ax = figure.subplots()
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        gains = [(trial_gains(study, t) or {}).get(name, math.nan) for t in front]
        x = np.arange(len(front)) + k * width
        colors = [_GAIN_UP if g > 0 else _GAIN_DOWN for g in gains]
        ax.bar(x, gains, width, color=colors, edgecolor="black", hatch=["", "//", "..", "xx"][k % 4], label=name)
    ax.axhline(0.0, color="black", linewidth=0.8)
    labels = []
    for t in front:
        mark = seesaw(trial_gains(study, t) or {})
        labels.append(f"{t.number}\n{'seesaw ' + mark if mark else ''}")
    ax.set_xticks(np.arange(len(front)) + width * (len(names) - 1) / 2, labels)
    ax.set_xlabel("Pareto trial")
    ax.set_ylabel("MTL gain (validation)")
    ax.legend(loc="best", fontsize="small")
    ax.set_title("MTL gain over single-task baselines (green: better, red: worse)", fontsize="medium")
    return figure


def _utilisation_figure(trial: FrozenTrial) -> Figure:
    stats = trial.user_attrs[UTILISATION_ATTR]
    levels = stats["levels"]
    width = max(4.0, 0.9 * max(len(level["experts"]) for level in levels) + 2)
    figure = _figure(width * len(levels), 1.2 + 0.6 * max(len(level["gates"]) for level in levels))
    for j, (ax, level) in enumerate(zip(figure.subplots(1, len(levels), squeeze=False)[0], levels)):
        experts = level["experts"]
        grid = np.full((len(level["gates"]), len(experts)), np.nan)
        for g, gate in enumerate(level["gates"]):
            for name, mean, std in zip(gate["experts"], gate["mean"], gate["std"]):
                e = experts.index(name)
                grid[g, e] = mean
                ax.text(e, g, f"{mean:.2f}\n±{std:.2f}", ha="center", va="center", fontsize="x-small")
        image = ax.imshow(grid, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        unused = {u.split(": ", 1)[1] for u in stats["unused"] if u.startswith(f"level {j}: ")}
        ax.set_xticks(range(len(experts)), [f"{e}\n(unused)" if e in unused else e for e in experts], fontsize="small")
        ax.set_yticks(range(len(level["gates"])), [f"{g['gate']} gate" for g in level["gates"]])
        ax.set_title(f"level {j}")
        figure.colorbar(image, ax=ax, label="mean gate weight")
    figure.suptitle(f"Expert utilisation of trial {trial.number} (validation set; mean ± std)")
    return figure


def report_figures(study: optuna.Study) -> dict[str, Figure]:
    """The report's figures by file stem: pareto, hypervolume, importance, gain, utilisation-trial-N."""
    return _build(study)[0]


def _build(study: optuna.Study) -> tuple[dict[str, Figure], dict[str, str]]:
    """The figures, and why any objective has no importance plot."""
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
    if not trials:
        raise MtlsearchError(
            f"study {study.study_name!r} has no completed trial", where="--study", fix="run mtlsearch optimize first"
        )
    front = pareto_trials(study)
    figures: dict[str, Figure] = {"pareto": _pareto_figure(study, trials, front)}
    record = hypervolume_history(trials, _directions(study), _reference(study))
    figures["hypervolume"] = _hypervolume_figure(record)
    importances = _importances(study, metric_names(study))
    importance = _importance_figure(importances)
    if importance is not None:
        figures["importance"] = importance
    if stored_baselines(study):
        figures["gain"] = _gain_figure(study, front)
    knee = pick_trial(study, "knee")
    chosen = [knee, *(t for t in front if t.number != knee.number)][:MAX_HEATMAP_TRIALS]
    for trial in chosen:
        if UTILISATION_ATTR in trial.user_attrs:
            figures[f"utilisation-trial-{trial.number}"] = _utilisation_figure(trial)
    return figures, {name: value for name, value in importances.items() if isinstance(value, str)}


def _svg(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element, text kept as text (searchable, no embedded font)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "mtlsearch"}):
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _table(study: optuna.Study, front: list[FrozenTrial]) -> str:
    rows = [trial_row(study, t) for t in front]
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]

    decimals = {c: column_decimals([r.get(c) for r in rows]) for c in columns}

    def cell(value: Any, column: str) -> str:
        if isinstance(value, float):
            return f"{value:.{decimals[column]}f}"
        return "" if value is None else html.escape(str(value))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f'<tr class="seesaw-{html.escape(str(r.get("seesaw") or "none"))}">'
        + "".join(f"<td>{cell(r.get(c), c)}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
section { margin-bottom: 2.5em; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
tr.seesaw-beaten { background: #e3f5e1; }
tr.seesaw-shown { background: #fdecea; }
.note { color: #666; }
"""


def _infeasible_section(study: optuna.Study, section: Callable[[str, str, str], None]) -> None:
    """Trials that broke the study's ``constraints:``, apart from the front (which never holds them)."""
    infeasible = infeasible_trials(study)
    if not infeasible:
        return
    budget = ", ".join(f"{name} <= {bound['max']:g}" for name, bound in _constraints(study).items())
    note = (
        f'<p class="note">{len(infeasible)} completed trial(s) broke the constraints ({html.escape(budget)}); '
        "they are left out of the Pareto front, the plots' front and export.</p>"
    )
    section("infeasible", "Infeasible trials", note + _table(study, infeasible))


def _constraints(study: optuna.Study) -> dict[str, dict[str, float]]:
    stored = study.user_attrs.get(STUDY_ATTR) or {}
    return dict(stored.get("constraints") or {})


def _html(study: optuna.Study, figures: dict[str, Figure], notes: dict[str, str]) -> str:
    names = metric_names(study)
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    front = pareto_trials(study)
    record = hypervolume_history(trials, _directions(study), _reference(study))
    title = f"mtlsearch report: {study.study_name}"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    objectives = ", ".join(f"{n} ({d})" for n, d in zip(names, _directions(study)))
    final = record["history"][-1][1] if record["history"] else 0.0
    parts.append(
        f"<p>{len(study.trials)} trials, {len(trials)} completed, {len(front)} on the Pareto front. "
        f"Objectives: {html.escape(objectives)}. Final hypervolume {final:.6g}.</p>"
    )

    def section(key: str, heading: str, body: str) -> None:
        parts.append(f'<section id="{key}"><h2>{html.escape(heading)}</h2>{body}</section>')

    section("pareto", "Pareto front", _svg(figures["pareto"]))
    section("hypervolume", "Hypervolume history", _svg(figures["hypervolume"]))
    importance_notes = "".join(f'<p class="note">{html.escape(n)}: {html.escape(v)}</p>' for n, v in notes.items())
    section(
        "importance",
        "Parameter importance per objective",
        (_svg(figures["importance"]) if "importance" in figures else "") + importance_notes,
    )
    if "gain" in figures:
        section("gain", "MTL gain and the seesaw", _svg(figures["gain"]))
    else:
        section("gain", "MTL gain and the seesaw", '<p class="note">No baselines stored: run mtlsearch baselines.</p>')
    heatmaps = [k for k in figures if k.startswith("utilisation-")]
    section(
        "utilisation",
        "Expert utilisation",
        "".join(_svg(figures[k]) for k in heatmaps)
        or '<p class="note">No trial of this study recorded its gate weights.</p>',
    )
    section("trials", "Pareto trials", _table(study, front))
    _infeasible_section(study, section)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_report(study_name: str, out: str | Path, *, storage: str | None = None, fmt: str = "html") -> Path:
    """Write the study's report: ``html`` is one self-contained file at ``out``; ``png`` writes one
    PNG per figure into the folder ``out``. Returns ``out``.

    >>> write_report("ple", "report.html", storage="sqlite:///mtlsearch.db")  # doctest: +SKIP
    """
    if fmt not in FORMATS:
        raise MtlsearchError(f"unknown format {fmt!r}", where="--format", fix=f"use one of {', '.join(FORMATS)}")
    if fmt == "png":  # before any work
        check_output_dir(out, where="--out")
    else:
        check_output_file(out, where="--out", example="report.html")
    study = load_study(study_name, storage)
    figures, notes = _build(study)
    out = Path(out)
    if fmt == "png":
        with staged_folder(out) as staging:  # every figure or none; no folder made on failure
            for name, figure in figures.items():
                figure.savefig(staging / f"{name}.png", dpi=120)
        return out
    write_text_atomic(out, _html(study, figures, notes), where="--out")  # whole or not at all
    return out
