"""Marshmallow schemas: the only place requests are parsed and responses are shaped."""
