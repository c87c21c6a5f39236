"""What the list, record and edit pages share: finding the declared type, the permission
checks as pages (403/404), showing values, naming referenced records in one query per
referenced type, and reading form values into what the patch schema accepts."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied as PageDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from pydantic import ValidationError

from accord.core.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from accord.identity.models import User
from accord.identity.visibility import permitted, visible
from accord.parties.models import CustomField
from accord.web import records
from accord.web.records import RecordType

View = TypeVar("View", bound=Callable[..., HttpResponseBase])

#: Reference fields named by the type they point to; users are named from identity.
REFERENCES = {
    "account_id": "account",
    "parent_id": "account",
    "contact_id": "contact",
    "product_id": "product",
}
USER_FIELDS = frozenset({"owner_id", "assignee_id", "created_by_id", "updated_by_id"})


def record_page(view: View) -> View:
    """Resolve ``type_name`` to its declaration (unknown → 404 page), require the read
    permission (none → 403 page), turn NotFound and PermissionDenied into those pages, and keep
    the answer out of caches (it holds what this user may see)."""

    @functools.wraps(view)
    def wrapper(
        request: HttpRequest, type_name: str, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        rt = records.get(type_name)
        if rt is None:
            raise Http404
        require(request.user, rt, "read")
        request.accord_workspace = rt.workspace  # type: ignore[attr-defined]
        try:
            response = view(request, rt, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except PermissionDenied as exc:
            raise PageDenied(exc.detail) from None
        add_never_cache_headers(response)
        return response

    return wrapper  # type: ignore[return-value]


def require(user: Any, rt: RecordType, action: str) -> None:
    if not permitted(user, rt.object_type, action):
        raise PageDenied(f"Your role may not {action} {rt.plural.lower()}")


#: Most people a bulk "assign to owner" offers (an organisation with more types an id).
MAX_ASSIGNABLE = 500


def assignable_users() -> list[tuple[str, str]]:
    """Active people a record may be assigned to, as (id, name), or [] when there are more
    than :data:`MAX_ASSIGNABLE` (the form then asks for an id)."""
    found = list(
        User.objects.filter(is_active=True)
        .order_by("username")
        .only("username", "first_name", "last_name")[: MAX_ASSIGNABLE + 1]
    )
    if len(found) > MAX_ASSIGNABLE:
        return []
    return [(str(u.pk), u.get_full_name() or u.username) for u in found]


def custom_fields(rt: RecordType, hidden: frozenset[str]) -> list[CustomField]:
    """The type's custom field definitions the user may see, in their order."""
    found = CustomField.objects.filter(record_type=rt.object_type).order_by("position", "key")
    return [c for c in found if f"custom_fields.{c.key}" not in hidden]


def title(rt: RecordType, payload: Mapping[str, Any]) -> str:
    parts = [str(payload[f]) for f in rt.title if payload.get(f)]
    return " ".join(parts) or f"{rt.label} {str(payload.get('id', ''))[:8]}"


def label(name: str) -> str:
    if name.startswith("cf."):
        return name[3:].replace("_", " ").capitalize()
    return name.removesuffix("_id").removesuffix("_ids").replace("_", " ").capitalize()


def value_of(payload: Mapping[str, Any], column: str) -> Any:
    if column.startswith("cf."):
        return (payload.get("custom_fields") or {}).get(column[3:])
    return payload.get(column)


class Names:
    """Names of the users and records the payloads refer to, read in one query per kind, so a
    page of 50 rows costs the same as a page of one. Records the user cannot see stay
    unnamed (their id is shown, never their name)."""

    def __init__(self, user: Any, payloads: Iterable[Mapping[str, Any]], columns: Iterable[str]):
        wanted: dict[str, set[Any]] = {}
        for column in columns:
            kind = "user" if column in USER_FIELDS else REFERENCES.get(column)
            if kind is None:
                continue
            for payload in payloads:
                value = payload.get(column)
                if value:
                    wanted.setdefault(kind, set()).add(value)
        self.names: dict[tuple[str, str], str] = {}
        for kind, ids in wanted.items():
            if kind == "user":
                for u in User.objects.filter(pk__in=ids).only(
                    "username", "first_name", "last_name"
                ):
                    self.names[("user", str(u.pk))] = u.get_full_name() or u.username
                continue
            rt = records.get(kind)
            if rt is None:
                continue
            model = rt.resource.service.model
            for record in visible(user, model.objects.filter(pk__in=ids)):
                # The title's fields only: the whole payload would read each record's tags
                # (one query per referenced account on a list page).
                named = {"id": record.pk, **{f: getattr(record, f, None) for f in rt.title}}
                self.names[(kind, str(record.pk))] = title(rt, named)

    def cell(self, column: str, value: Any) -> dict[str, Any]:
        """What a template shows for ``value``: ``text`` and, for a visible record, ``url``."""
        kind = "user" if column in USER_FIELDS else REFERENCES.get(column)
        if kind and value:
            name = self.names.get((kind, str(value)))
            if kind != "user" and name is not None:
                return {"text": name, "url": reverse("records:detail", args=[kind, value])}
            return {"text": name or str(value)}
        return {"text": show(value)}


def show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        try:
            return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return str(value)


def text(value: Any) -> str:
    """``value`` as a form control's text (and a CSV cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items() if v not in (None, ""))
    return str(value)


def parse(
    rt: RecordType, raw: Mapping[str, str], *, custom: Iterable[CustomField] = ()
) -> dict[str, Any]:
    """Form values (text) as a validated patch: each value converted to the field's type,
    then checked by the type's patch schema, errors named by field (InvalidInput). Custom
    fields come as ``cf.<key>`` (``custom`` holds their definitions); an empty one is
    cleared."""
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    definitions = {f"cf.{c.key}": c for c in custom}
    for name, value in raw.items():
        if name in definitions:
            try:
                converted = _custom_value(definitions[name], value.strip())
            except ValueError as exc:
                errors.append(FieldError(f"custom_fields.{name[3:]}", str(exc)))
            else:
                data.setdefault("custom_fields", {})[name[3:]] = converted
            continue
        kind = rt.editable.get(name)
        if kind is None:
            continue
        value = value.strip()
        if kind is bool:
            if value not in ("true", "false"):
                errors.append(FieldError(name, "choose yes or no"))
                continue
            data[name] = value == "true"
        elif value == "":
            data[name] = "" if kind is str else None
        elif kind is int:
            try:
                data[name] = int(value)
            except ValueError:
                errors.append(FieldError(name, "must be a whole number"))
        elif kind is uuid.UUID:
            data[name] = value
        else:
            data[name] = value
    if errors:
        raise InvalidInput("Some values are not valid", errors)
    return validated(rt.resource.patch_in, data)


def validated(schema: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` checked by ``schema`` (a patch or create schema) as the API would, only the
    fields given; errors named by field (InvalidInput)."""
    try:
        checked = schema.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            "Some values are not valid",
            [
                FieldError(".".join(str(p) for p in e["loc"]) or "record", e["msg"])
                for e in exc.errors()
            ],
        ) from None
    return dict(checked.model_dump(exclude_unset=True))


def _custom_value(definition: CustomField, value: str) -> Any:
    """A custom field's form text as the JSON value its type takes (checked by the service)."""
    if value == "":
        return None
    if definition.type == "number":
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                raise ValueError("must be a number") from None
    if definition.type == "bool":
        if value not in ("true", "false"):
            raise ValueError("choose yes or no")
        return value == "true"
    return value
