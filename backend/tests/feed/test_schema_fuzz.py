"""The API against its own OpenAPI schema (/api/schema/), fuzzed by schemathesis: for every
operation, generated requests (valid and not, seeded, a bounded number) from a logged-in user
with a CSRF token. No answer is a server error, and every answer is documented, with the
content type and body shape the schema gives for its status.

    cd backend && .venv/bin/pytest tests/api/test_schema_fuzz.py
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from realtime import runtime
from testing.plugin import session_cookie_for
from tests.factories import make_post

# transaction=True: the WSGI handler closes the connection after each request, as in production.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_services]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CSRF_TOKEN = "faultsfuzzcsrftoken0123456789abc"  # any 32 letters and digits: Django compares cookie and header


@pytest.fixture
def api_schema() -> Iterator[Any]:
    from config.wsgi import application

    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    # Importing the WSGI module gave this process a worker's publisher thread; the tests
    # after this one expect to send inline, as a process without a runtime does.
    runtime.install_thread_runtime(None)


@pytest.fixture
def logged_in_headers(make_user: Any) -> dict[str, str]:
    """A session and CSRF token, and a post and its author, so the generated ids sometimes exist."""
    user: User = make_user("fuzzer")
    make_post(user)
    return {
        "Cookie": f"{session_cookie_for(user)}; csrftoken={CSRF_TOKEN}",
        "X-CSRFToken": CSRF_TOKEN,
        "Host": "testserver",
    }


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
# derandomize: the same examples on every run; database=None: nothing written to the tree.
@settings(max_examples=12, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented_and_none_is_a_server_error(case: Any, logged_in_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=logged_in_headers, checks=CHECKS)
