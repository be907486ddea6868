"""The suite's people: the fixtures several test modules share (the public ones are in testing/plugin.py)."""

from collections.abc import Callable

import pytest

from accounts.models import User
from testing.plugin import ContractClient


@pytest.fixture
def alice(make_user: Callable[..., User]) -> User:
    return make_user("alice")


@pytest.fixture
def as_alice(alice: User, contract_client: Callable[..., ContractClient]) -> ContractClient:
    """A client logged in as alice that meets CSRF as a browser does."""
    return contract_client(alice)
