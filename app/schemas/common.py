"""Schemas shared by every resource: the error envelope and list pages."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"example": "VALIDATION_ERROR"})
    message = fields.String(required=True)
    requestId = fields.String(required=True)
    timestamp = fields.String(required=True, metadata={"format": "date-time"})
    retryable = fields.Boolean(required=True)
    retryAfterMs = fields.Integer(required=True, allow_none=True)
    field = fields.String(metadata={"description": "the request field the error is about, where there is one"})


class ErrorEnvelopeSchema(Schema):
    error = fields.Nested(ErrorSchema, required=True)


class PageArgsSchema(Schema):
    after = fields.String(validate=validate.Length(max=64), metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
            "has_more": fields.Boolean(required=True),
        },
        name=name,
    )
