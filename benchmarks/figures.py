"""Figures: one JSON line each on stdout (see STYLE.md), never an assertion about time.

A figure is ``{"name", "n", "value", "unit"}`` plus context keys. Names are unique within a run
(``create.pg.c8.p99_ms``), and the parts of the name are repeated as context keys (``engine``,
``clients``, ``size``) so that results can be grouped without parsing names. A figure that the
issue sets a goal for carries ``target`` (its text) and ``meets_target``.
"""

from __future__ import annotations

import json
import operator
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from benchmarks.load import WrkStats

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Target:
    """A goal from the issue: the figure's ``value`` (or its ``ratio`` to the floor) compared
    with ``bound``."""

    op: str
    bound: float
    of: str = "value"

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        measured = ratio if self.of == "ratio" else value
        if measured is None:
            return None
        return _OPS[self.op](measured, self.bound)

    def __str__(self) -> str:
        return f"{self.of} {self.op} {self.bound:g}"


@dataclass(frozen=True)
class Figure:
    name: str
    n: int
    value: float | None
    unit: str
    context: dict[str, Any]

    def as_json(self) -> str:
        body: dict[str, Any] = {"name": self.name, "n": self.n, "value": self.value}
        body["unit"] = self.unit
        body.update(self.context)
        return json.dumps(body, ensure_ascii=False)


class Reporter:
    """Prints each figure as it is measured and keeps them for the summary at the end."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.figures: list[Figure] = []

    def emit(
        self,
        name: str,
        value: float | None,
        unit: str,
        *,
        n: int,
        target: Target | None = None,
        ratio: float | None = None,
        **context: Any,
    ) -> Figure:
        extra = dict(context)
        if ratio is not None:
            extra["ratio"] = _round(ratio)
        if target is not None:
            extra["target"] = str(target)
            extra["meets_target"] = target.met(value, ratio)
        figure = Figure(name, n, _round(value), unit, extra)
        self.figures.append(figure)
        print(figure.as_json(), file=self.out, flush=True)
        return figure


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(value: float | None, floor: float | None) -> float | None:
    if value is None or not floor:
        return None
    return value / floor


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 3) if abs(value) < 1000 else round(value, 1)


#: What each load run reports, and in which unit.
LOAD_METRICS = (("req_per_s", "req/s"), ("p50_ms", "ms"), ("p99_ms", "ms"))


def report_load(
    reporter: Reporter,
    prefix: str,
    runs: Sequence[WrkStats],
    *,
    floor: Sequence[WrkStats] = (),
    targets: Mapping[str, Target] | None = None,
    **context: Any,
) -> None:
    """``<prefix>.req_per_s``, ``.p50_ms`` and ``.p99_ms``: medians over ``runs``, with their
    ratio to the median of ``floor`` when there is one."""
    for metric, unit in LOAD_METRICS:
        values = [getattr(run, metric) for run in runs]
        value = median(values)
        extra: dict[str, Any] = {}
        floor_value = None
        if floor:
            floor_value = median([getattr(run, metric) for run in floor])
            extra["floor"] = _round(floor_value)
        if len(values) > 1:
            extra["samples"] = [_round(v) for v in values]
        reporter.emit(
            f"{prefix}.{metric}",
            value,
            unit,
            n=sum(run.requests for run in runs),
            target=(targets or {}).get(metric),
            ratio=ratio(value, floor_value),
            errors=sum(run.errors for run in runs),
            **context,
            **extra,
        )
