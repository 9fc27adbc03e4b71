"""Schemathesis against the service's own ``/openapi.json``: every operation, 200 generated requests each
(valid and invalid), through the real app on the real database, with a key holding every scope or a live
game session. No answer may be a 5xx, and every answer must be one the document declares, in its shape.

Long: run by ``make chaos`` (which ``.ci/run`` runs too), not by ``make test``."""

from __future__ import annotations

import random
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)
from schemathesis.checks import not_a_server_error

from app import create_app
from app.auth import SCOPES
from app.config import Settings
from tests.api.helpers import funded_session
from tests.support import FakeClock

pytestmark = pytest.mark.chaos

EXAMPLES = 200
METHODS = ("get", "post", "put", "patch", "delete")
ADMIN = {"Authorization": "Bearer test-admin-key"}
KEYS = {"test-admin-key": {"name": "fuzzer", "scopes": sorted(SCOPES)}}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_app(database_url: str) -> Iterator[Any]:
    flask_app = create_app(Settings(database_url=database_url, api_keys=KEYS), clock=FakeClock(), random_bytes=random.Random(7).randbytes)
    yield flask_app
    flask_app.extensions["spinledger"].close()


@pytest.fixture(scope="module")
def game_session(fuzzed_app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return funded_session(fuzzed_app.test_client(), amount="1000.00")[1]


def test_no_operation_answers_a_5xx_or_outside_its_document(fuzzed_app, game_session):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]  # an Err (a broken $ref, say) fails here
    document = fuzzed_app.test_client().get("/openapi.json").json
    assert len(operations) == sum(1 for item in document["paths"].values() for method in item if method in METHODS) > 30
    failures = []
    for operation in operations:
        credential = game_session if operation.path.startswith("/api/v1/game/") else ADMIN

        @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
        def fuzz(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=credential, checks=CHECKS)

        try:
            fuzz()
        except Exception as failure:  # every operation is fuzzed; all that failed are reported together
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
