"""The declarative page registry of the staff web app.

The shell (navigation, the Settings area, the URL map) is built from declarations, so a later
issue adds a page by declaring it rather than by editing the shell's templates:

- **Workspaces** are the top navigation: one per department (Sales, Marketing, Service, Back
  office) and Admin, whose landing page is the Settings area. Web declares them.
- **Pages** are entries of a workspace's menu (a list, a board, a dashboard).
- **Settings sections** are entries of the Settings area, grouped under a heading.

Domains sit below web and must not import it (ARCHITECTURE.md, Layers), so a domain declares its
pages in its own ``pages.py`` as plain data that web reads at start-up (:func:`discover`):

``urlpatterns``
    URL patterns, mounted at ``/`` in the domain's namespace (the app label), e.g.
    ``path("settings/users/", views.users, name="users")`` → ``identity:users``.
``PAGES``
    dicts with the fields of :class:`Page`.
``SETTINGS``
    dicts with the fields of :class:`SettingsSection`.
``CARDS``
    dicts with the fields of :class:`Card`: the dashboard cards of the home page and of the
    workspace pages. ``data`` is a function of the signed-in user returning the card's template
    context (counts and aggregates read through ``visible()``); a context with a ``chart`` entry
    gets a plotly bar chart and its table fallback (see :mod:`accord.web.dashboards`). Cards may
    also be declared in a domain's ``dashboards`` module, which web reads the same way.

``allowed`` (optional in all) is a function of the signed-in user that says whether the entry is
shown; the view behind it still checks for itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, include, path

Allowed = Callable[[Any], bool]


def everyone(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


@dataclass(frozen=True)
class Workspace:
    """A tab of the top navigation."""

    key: str
    label: str
    url: str
    order: int = 100


@dataclass(frozen=True)
class Page:
    """An entry of a workspace's menu; ``url`` is a URL name (``"sales:deals"``)."""

    workspace: str
    label: str
    url: str
    order: int = 100
    description: str = ""
    allowed: Allowed = everyone


@dataclass(frozen=True)
class SettingsSection:
    """An entry of the Settings area, listed under ``group``; ``url`` is a URL name."""

    group: str
    label: str
    url: str
    order: int = 100
    description: str = ""
    allowed: Allowed = everyone


@dataclass(frozen=True)
class Card:
    """A dashboard card, shown on the home page and on the pages of its ``workspaces``.

    ``data(user)`` returns the context of ``template``; it runs on every view of the page, so it
    keeps to one or two aggregate queries through the visibility filter."""

    key: str
    label: str
    workspaces: tuple[str, ...]
    data: Callable[[Any], Mapping[str, Any]]
    template: str = "web/cards/chart.html"
    order: int = 100
    description: str = ""
    allowed: Allowed = everyone


@dataclass
class Site:
    """Everything declared so far. :data:`site` is the one the app uses."""

    workspaces: dict[str, Workspace] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)
    settings: list[SettingsSection] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    urls: list[URLPattern | URLResolver] = field(default_factory=list)

    def workspace(self, key: str, label: str, url: str, *, order: int = 100) -> Workspace:
        found = Workspace(key=key, label=label, url=url, order=order)
        self.workspaces[key] = found
        return found

    def page(self, **declared: Any) -> Page:
        found = Page(**declared)
        if found.workspace not in self.workspaces:
            raise ImproperlyConfigured(
                f"page {found.label!r} names unknown workspace {found.workspace!r}"
            )
        self.pages.append(found)
        self.pages.sort(key=lambda p: (p.order, p.label))
        return found

    def settings_section(self, **declared: Any) -> SettingsSection:
        found = SettingsSection(**declared)
        self.settings.append(found)
        self.settings.sort(key=lambda s: (s.order, s.label))
        return found

    def card(self, **declared: Any) -> Card:
        found = Card(**{**declared, "workspaces": tuple(declared.get("workspaces", ()))})
        unknown = [w for w in found.workspaces if w not in self.workspaces]
        if unknown or not found.workspaces:
            raise ImproperlyConfigured(f"card {found.key!r} names unknown workspaces {unknown!r}")
        if any(c.key == found.key for c in self.cards):
            raise ImproperlyConfigured(f"card {found.key!r} is declared twice")
        self.cards.append(found)
        self.cards.sort(key=lambda c: (c.order, c.label))
        return found

    def mount(self, namespace: str, patterns: Iterable[URLPattern | URLResolver]) -> None:
        self.urls.append(path("", include((list(patterns), namespace))))

    def read(self, namespace: str, module: Any) -> None:
        """Take the declarations of one domain's ``pages`` module."""
        for declared in getattr(module, "PAGES", ()):
            self.page(**_plain(declared, module))
        for declared in getattr(module, "SETTINGS", ()):
            self.settings_section(**_plain(declared, module))
        for declared in getattr(module, "CARDS", ()):
            self.card(**_plain(declared, module))
        patterns = getattr(module, "urlpatterns", None)
        if patterns:
            self.mount(namespace, patterns)

    # -- what one user sees --------------------------------------------------------------------

    def pages_for(self, user: Any, workspace: str) -> list[Page]:
        return [p for p in self.pages if p.workspace == workspace and p.allowed(user)]

    def cards_for(self, user: Any, workspaces: Iterable[str]) -> list[Card]:
        """The cards of any of ``workspaces`` that ``user`` may see, each once, in order."""
        wanted = set(workspaces)
        return [c for c in self.cards if wanted.intersection(c.workspaces) and c.allowed(user)]

    def settings_for(self, user: Any) -> list[SettingsSection]:
        return [s for s in self.settings if s.allowed(user)]

    def settings_groups(self, user: Any) -> list[tuple[str, list[SettingsSection]]]:
        """The sections ``user`` may open, by group, groups in the order of their first
        section."""
        groups: dict[str, list[SettingsSection]] = {}
        for section in self.settings_for(user):
            groups.setdefault(section.group, []).append(section)
        return list(groups.items())

    def workspaces_for(self, user: Any) -> list[Workspace]:
        """The tabs shown to ``user``: Admin only to someone who may open a settings section."""
        shown = [w for w in self.workspaces.values() if w.key != ADMIN or self.settings_for(user)]
        return sorted(shown, key=lambda w: w.order)


def _plain(declared: Mapping[str, Any], module: Any) -> dict[str, Any]:
    if not isinstance(declared, Mapping):
        raise ImproperlyConfigured(f"{module.__name__}: declarations are dicts, not {declared!r}")
    return dict(declared)


ADMIN = "admin"

site = Site()


def declare_workspaces(target: Site) -> None:
    """The department workspaces of the top navigation."""
    target.workspace("sales", "Sales", "web:workspace-sales", order=10)
    target.workspace("marketing", "Marketing", "web:workspace-marketing", order=20)
    target.workspace("service", "Service", "web:workspace-service", order=30)
    target.workspace("back_office", "Back office", "web:workspace-back_office", order=40)
    target.workspace(ADMIN, "Admin", "web:settings", order=90)


#: The modules of a domain that web reads declarations from, each optional.
DECLARING_MODULES = ("pages", "dashboards")


def discover(target: Site | None = None) -> Site:
    """Read every installed Accord domain's ``pages`` and ``dashboards`` modules into
    ``target`` (default :data:`site`). Called once, when the app registry is ready."""
    target = target or site
    if not target.workspaces:
        declare_workspaces(target)
    for config in apps.get_app_configs():
        if not config.name.startswith("accord.") or config.name == "accord.web":
            continue
        for name in DECLARING_MODULES:
            try:
                module = importlib.import_module(f"{config.name}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.{name}":
                    raise
                continue
            target.read(config.label, module)
    return target
