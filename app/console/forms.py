"""A page's query string read through the schema of the API route the page stands beside: the same fields, the
same checks, the same errors. Fields a form left empty are not sent."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict


def read_query(schema: Schema, args: MultiDict[str, str], *, ignore: tuple[str, ...] = ()) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """``(loaded, {})``, or ``(None, {field: message})`` when the schema refuses the query."""
    raw: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if key in ignore:
            continue
        values = [value for value in args.getlist(key) if value.strip()]
        if not values:
            continue
        raw[key] = values if isinstance(field, fields.List) else values[0].strip()
    try:
        return schema.load(raw), {}
    except ValidationError as refused:
        return None, {field: " ".join(_flat(messages)) for field, messages in refused.normalized_messages().items()}


def _flat(messages: Any) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [text for inner in messages.values() for text in _flat(inner)]
    return [text for inner in messages for text in _flat(inner)]


def errors_text(errors: dict[str, str]) -> str:
    return "; ".join(f"{field}: {message}" for field, message in errors.items())
