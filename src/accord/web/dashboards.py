"""The dashboard cards of the home and workspace pages, and the charts they draw.

Domains declare cards (``CARDS`` in their ``pages`` or ``dashboards`` module, see
:mod:`accord.web.pages`) whose data is plain: a card with a ``chart`` entry gets it drawn here
as a plotly figure, rendered on the server to JSON and put into a ``data-figure`` attribute
that ``web/static/web/charts.js`` hands to ``Plotly.newPlot``. An attribute, not a script
element, so the page holds no script body at all; the same data is also shown as a table, the
fallback without JavaScript and what screen readers read.

A chart is a mapping::

    {"title": "…", "category": "Stage", "value": "Amount", "stacked": False,
     "series": [{"name": "EUR", "points": [
         {"label": "Proposal", "value": 1200.0, "display": "1,200.00 EUR",
          "note": "3 deals", "url": "/records/deal/?stage_id=…"}]}]}

Each point's ``url`` is where a click on its bar goes (plotly's ``customdata``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly  # type: ignore[import-untyped]
import plotly.graph_objects as go  # type: ignore[import-untyped]
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import condition, require_safe

from accord.web.pages import Card, site

logger = logging.getLogger(__name__)

#: Bar colours with at least 3:1 contrast against the card's white background.
COLORWAY = ["#1f5fa8", "#b35900", "#2e7d32", "#6a3d9a", "#a4262c"]
#: The plotly.js bundle the installed plotly package ships.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_VERSION = str(plotly.__version__)
YEAR = 365 * 24 * 3600
#: Which department kind's people see which workspace's cards on the home page; others see
#: every card.
DEPARTMENT_WORKSPACES = {
    "sales": "sales",
    "marketing": "marketing",
    "service": "service",
    "finance": "back_office",
}


def home_workspaces(user: Any) -> list[str]:
    """The workspaces whose cards the home page shows ``user``: their department's, else all."""
    department = getattr(user, "department", None)
    found = DEPARTMENT_WORKSPACES.get(getattr(department, "kind", ""))
    return [found] if found else list(site.workspaces)


def cards(user: Any, workspaces: Iterable[str]) -> list[dict[str, Any]]:
    """The cards of ``workspaces`` that ``user`` may see, each with its context; a card that
    fails says so instead of taking the whole page down."""
    return [_context(user, card) for card in site.cards_for(user, workspaces)]


def _context(user: Any, card: Card) -> dict[str, Any]:
    try:
        data = dict(card.data(user))
    except Exception:
        logger.exception("dashboard card %s failed", card.key)
        return {"card": card, "failed": True}
    chart = data.get("chart")
    if chart is not None and chart.get("series"):
        data["figure"] = figure_json(chart)
    return {"card": card, "data": data}


def figure_json(chart: Mapping[str, Any]) -> str:
    """The plotly figure of ``chart`` as JSON: one bar trace per series, each bar's URL in its
    ``customdata``, no template (the default one would add kilobytes to every page)."""
    series = chart["series"]
    traces = [
        go.Bar(
            name=_text(s["name"]),
            x=[_text(p["label"]) for p in s["points"]],
            y=[p["value"] for p in s["points"]],
            customdata=[p["url"] for p in s["points"]],
            hovertext=[_text(_hover(p)) for p in s["points"]],
            hovertemplate="%{x}: %{hovertext}<extra>%{fullData.name}</extra>",
        )
        for s in series
    ]
    legend = len(series) > 1
    layout = go.Layout(
        template=go.layout.Template(),
        barmode="stack" if chart.get("stacked") else "group",
        colorway=COLORWAY,
        height=280,
        margin={"l": 56, "r": 8, "t": 32 if legend else 8, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=legend,
        # Above the plot, in the order of the series (a stack would list them upside down).
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
        xaxis={"title": {"text": chart.get("category", "")}, "fixedrange": True},
        yaxis={
            "title": {"text": chart.get("value", "")},
            "fixedrange": True,
            "rangemode": "tozero",
            "gridcolor": "#d9dde3",
            "tickformat": ",",
            **_whole_numbers(chart),
        },
        font={"family": "system-ui, sans-serif", "size": 13, "color": "#1d2330"},
    )
    return str(go.Figure(data=traces, layout=layout).to_json())


def _whole_numbers(chart: Mapping[str, Any]) -> dict[str, Any]:
    """One tick per unit for small counts, where plotly would otherwise mark 0.2, 0.4, …"""
    points = [p for s in chart["series"] for p in s["points"]]
    if not all(isinstance(p["value"], int) for p in points):
        return {}
    if chart.get("stacked"):
        totals: dict[str, int] = {}
        for p in points:
            totals[p["label"]] = totals.get(p["label"], 0) + p["value"]
        top = max(totals.values(), default=0)
    else:
        top = max((p["value"] for p in points), default=0)
    return {"dtick": 1} if top <= 10 else {}


def _text(value: Any) -> str:
    """``value`` as plain text for plotly.js, which reads ``<b>``, ``<a href>`` and entities in
    labels: a stage named ``<a href=…>`` is shown as typed, not followed."""
    return html.escape(str(value), quote=False)


def _hover(point: Mapping[str, Any]) -> str:
    note = point.get("note")
    return f"{point['display']} ({note})" if note else str(point["display"])


# -- plotly.js and its stylesheet, from the installed package ---------------------------------

#: A string literal of the minified bundle, in either quotes.
_STRING = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
#: One ``selector: declarations`` entry; the minifier leaves a plain selector ("Y") unquoted.
_RULE = re.compile(rf"\s*({_STRING}|[A-Za-z_$][\w$]*)\s*:\s*({_STRING})\s*([,}}])")
#: Where plotly.js's own stylesheet starts in the bundle: ``{selector: declarations, …}``.
_STYLES_START = '{"X,X div":'


def plotly_css(source: str) -> str:
    """The stylesheet plotly.js would inject as a ``<style>`` element (which the CSP refuses),
    read from the bundle: its selectors use ``X`` for the plot and ``Y`` for the notifier, and
    each rule went in at the top of the sheet, so the first declared comes last."""
    at = source.find(_STYLES_START) + 1
    rules: list[str] = []
    while at and (found := _RULE.match(source, at)):
        selector = re.sub(r"^,", " ,", found[1].strip("\"'"))
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector}{{{found[2][1:-1]}}}")
        at = 0 if found[3] == "}" else found.end()
    if not rules:
        logger.warning("plotly.js's stylesheet was not found in %s", PLOTLY_JS)
    return "\n".join(reversed(rules)) + "\n"


#: Stylesheets the bundle injects when it loads (maplibre's, for map traces) unless an element
#: with their id exists already.
_INJECTED = re.compile(
    r'getElementById\("([\w-]+)"\)\)\{var (\w+)=document\.createElement\("style"\)'
)


def injected_style_ids(source: str) -> list[str]:
    """The ids that stop plotly.js's bundle injecting its other ``<style>`` elements. The cards
    draw no maps, so those styles are not needed: an element with the id is enough."""
    return [found[1] for found in _INJECTED.finditer(source)]


@dataclass(frozen=True)
class Asset:
    """A file served from memory: as it is, gzipped, and its ETag."""

    content_type: str
    raw: bytes
    zipped: bytes
    etag: str

    @classmethod
    def of(cls, content_type: str, raw: bytes) -> Asset:
        digest = hashlib.sha256(raw).hexdigest()[:32]
        return cls(content_type, raw, gzip.compress(raw, compresslevel=6), f'"{digest}"')

    def response(self, request: HttpRequest) -> HttpResponse:
        gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
        response = HttpResponse(self.zipped if gzipped else self.raw, self.content_type)
        if gzipped:
            response["Content-Encoding"] = "gzip"
        # The URLs carry plotly's version, so a browser may keep the file for a year.
        response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        response["Vary"] = "Accept-Encoding"
        return response


@functools.cache
def _source() -> str:
    return PLOTLY_JS.read_text()


@functools.cache
def _assets() -> dict[str, Asset]:
    """plotly.js and its stylesheet, read once per process."""
    return {
        "js": Asset.of("text/javascript", _source().encode()),
        "css": Asset.of("text/css", plotly_css(_source()).encode()),
    }


def plotly_style_ids() -> list[str]:
    return injected_style_ids(_source())


def _etag(request: HttpRequest, kind: str) -> str:
    return _assets()[kind].etag


@login_not_required
@require_safe
@condition(etag_func=_etag)
def plotly_asset(request: HttpRequest, kind: str) -> HttpResponse:
    """plotly.js (``kind`` "js") or its stylesheet ("css"), served from the plotly package
    (never a CDN), gzipped when the browser takes it, cached for a year under its versioned
    URL and revalidated by ETag. It is a public library, so no sign-in is needed."""
    return _assets()[kind].response(request)
