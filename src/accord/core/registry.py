"""Extension points that let higher domains plug into core without core importing them.

- **Custom fields**: ``parties`` registers the validator for ``custom_fields`` values, which every
  record service calls.
- **Field policy**: ``identity`` registers who may see and set which fields (field-level
  security), which the API applies to what it shows, filters on and accepts.
- **Purge listeners**: a domain that keeps rows about other records (activities, manual shares)
  registers a listener that removes them when the recycle-bin purge removes the records.
- **Change listeners**: a domain that reacts to any record's committed change (activities
  notifies the new owner or assignee) registers a listener the write path calls.
- **References**: each domain registers a provider answering "what of yours refers to this field,
  stage, picklist value or product?", so a dependency check asks one place before a change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CustomFieldValidator = Callable[[str, Mapping[str, Any], Mapping[str, Any] | None], dict[str, Any]]

_custom_field_validator: CustomFieldValidator | None = None


def register_custom_field_validator(validator: CustomFieldValidator) -> None:
    global _custom_field_validator
    _custom_field_validator = validator


def clean_custom_fields(
    object_type: str, values: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``existing`` merged with ``values`` after validation against the object type's fields."""
    if _custom_field_validator is None:
        raise RuntimeError("no custom field validator registered (is accord.parties installed?)")
    return _custom_field_validator(object_type, values, existing)


@dataclass(frozen=True)
class Reference:
    """Something that depends on a field, stage, picklist value or product."""

    domain: str
    kind: str
    label: str
    object_type: str
    target: str


ReferenceProvider = Callable[[str, str], list[Reference]]

_providers: dict[str, ReferenceProvider] = {}


def register_references(domain: str, provider: ReferenceProvider) -> None:
    """``provider(object_type, target)`` lists the domain's references to ``target`` (a field
    key, ``stage:<id>``, ``value:<field>=<value>`` or ``product:<id>``) of ``object_type``."""
    _providers[domain] = provider


def references_to(object_type: str, target: str) -> list[Reference]:
    found: list[Reference] = []
    for provider in _providers.values():
        found.extend(provider(object_type, target))
    return found


@dataclass(frozen=True)
class FieldPolicy:
    """The fields of one object type a caller may not see (``hidden``) or may not set
    (``read_only``, hidden ones included). ``custom_fields.<key>`` names a custom field."""

    hidden: frozenset[str] = frozenset()
    read_only: frozenset[str] = frozenset()

    @property
    def _hidden_custom(self) -> frozenset[str]:
        return frozenset(
            h.removeprefix("custom_fields.") for h in self.hidden if h.startswith("custom_fields.")
        )

    def _mask_custom(self, values: Any) -> Any:
        if not isinstance(values, Mapping):
            return values
        return {k: v for k, v in values.items() if k not in self._hidden_custom}

    def mask(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``payload`` without the hidden fields."""
        if not self.hidden:
            return dict(payload)
        shown = {k: v for k, v in payload.items() if k not in self.hidden}
        if self._hidden_custom and "custom_fields" in shown:
            shown["custom_fields"] = self._mask_custom(shown["custom_fields"])
        return shown

    def mask_changes(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Field history ``changes`` (``{field: [old, new]}``) without the hidden fields.

        Custom fields change as one ``custom_fields`` entry holding both whole dicts, so a
        hidden custom field is taken out of each; when nothing else changed, the entry goes.
        """
        shown = {k: v for k, v in changes.items() if k not in self.hidden}
        pair = shown.get("custom_fields")
        if self._hidden_custom and isinstance(pair, list | tuple) and len(pair) == 2:
            old, new = (self._mask_custom(v) for v in pair)
            if old == new:
                del shown["custom_fields"]
            else:
                shown["custom_fields"] = [old, new]
        return shown


OPEN = FieldPolicy()

FieldPolicyProvider = Callable[[Any, str], FieldPolicy]

_field_policy: FieldPolicyProvider | None = None


def register_field_policy(provider: FieldPolicyProvider) -> None:
    global _field_policy
    _field_policy = provider


def field_policy(actor: Any, object_type: str) -> FieldPolicy:
    """What ``actor`` may see and set of ``object_type`` (everything when nobody registered)."""
    return OPEN if _field_policy is None else _field_policy(actor, object_type)


PurgeListener = Callable[[str, list[Any]], None]

_purge_listeners: dict[str, PurgeListener] = {}


def register_purge_listener(domain: str, listener: PurgeListener) -> None:
    """``listener(object_type, record_ids)`` runs inside the purge's transaction, before the
    records are deleted, so what it removes goes with them or not at all."""
    _purge_listeners[domain] = listener


def records_purged(object_type: str, record_ids: list[Any]) -> None:
    for listener in _purge_listeners.values():
        listener(object_type, record_ids)


ChangeListener = Callable[[Sequence[Any], Any], None]

_change_listeners: dict[str, ChangeListener] = {}


def register_change_listener(domain: str, listener: ChangeListener) -> None:
    """``listener(changes, actor)`` runs inside the writing transaction, right after the
    history entries and outbox events of ``changes`` (``core.records.Change``: record, verb,
    payload, ``{field: [old, new]}``) were written; what it writes commits with them or not at
    all. Activities uses it to notify people a record was assigned to."""
    _change_listeners[domain] = listener


def records_changed(changes: Sequence[Any], actor: Any) -> None:
    for listener in _change_listeners.values():
        listener(changes, actor)
