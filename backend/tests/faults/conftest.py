"""Fixtures of the fault tests: a stack (nginx, two socket and two HTTP workers) on its own
Redis, the users and posts of a like storm, and the figures table printed at the end of the run.
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.terminal import TerminalReporter
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from accounts.models import User
from testing.plugin import wait_out_other_transactions
from tests.deploy.conftest import Stack, write_frontend_build
from tests.factories import make_post
from tests.faults.harness import Browser, Figures, Storm, storm_through_fault
from tests.faults.servers import RedisProcess

RECORDED: list[Figures] = []
# Every PostgreSQL connection of the stacks' workers carries this name, so a test can end
# exactly those backends and no other.
WORKER_APPLICATION_NAME = f"karmafeed-faults-{os.getpid()}"


class FaultStack(Stack):
    """The deploy tests' stack, with settings of the test's own (its Redis, say) on top."""

    def __init__(self, state_dir: Path, *, workers: int, frontend_root: Path, env: dict[str, str]) -> None:
        super().__init__(state_dir, workers=workers, frontend_root=frontend_root)
        self.extra_env = env

    def environment(self) -> dict[str, str]:
        database = settings.DATABASES["default"]
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        return {
            **super().environment(),
            "DATABASE_URL": f"{url}?application_name={WORKER_APPLICATION_NAME}",
            # Short timeouts: a dead Redis is noticed in a second, not five.
            "REDIS_SOCKET_TIMEOUT": "1.0",
            "REDIS_CONNECT_TIMEOUT": "1.0",
            **self.extra_env,
        }


@pytest.fixture(scope="module")
def start_stack(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., FaultStack]]:
    """start_stack(env, workers=2): a running stack, stopped when the test module ends."""
    started: list[FaultStack] = []

    def start(env: dict[str, str], workers: int = 2) -> FaultStack:
        base = tmp_path_factory.mktemp("fault-stack")
        stack = FaultStack(base / "state", workers=workers, frontend_root=write_frontend_build(base / "dist"), env=env)
        stack.start()
        started.append(stack)
        return stack

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture(scope="module")
def start_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RedisProcess]]:
    """start_redis(): a redis-server on a free port, stopped when the test module ends."""
    started: list[RedisProcess] = []

    def start(*config_lines: str) -> RedisProcess:
        server = RedisProcess(tmp_path_factory.mktemp("redis")).start(*config_lines)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class StormCast:
    """The people of a storm: authors of the posts, and the users who like them."""

    def __init__(self, authors: list[User], posts: list[int], likers: list[User]) -> None:
        self.authors = authors
        self.post_ids = posts
        self.likers = likers

    def browsers(self, base_url: str) -> list[Browser]:
        return [Browser(base_url, user) for user in self.likers]


@pytest.fixture
def storm_with_fault(make_user: Callable[..., User]) -> Callable[..., Awaitable[Figures]]:
    """storm_with_fault(stack, figures, inject): a like storm on fresh users and posts through the
    stack, `inject(storm)` run in the middle of it; the figures filled in and recorded."""

    def cast(posts: int = 4, likers: int = 16) -> StormCast:
        authors = [make_user() for _ in range(posts)]
        post_ids = [make_post(author).pk for author in authors]
        return StormCast(authors, post_ids, [make_user() for _ in range(likers)])

    async def storm(stack: FaultStack, figures: Figures, inject: Callable[[Storm], Any]) -> Figures:
        people = await sync_to_async(cast)()
        browsers = await sync_to_async(people.browsers)(stack.url)
        workers = set(stack.worker_names)
        fleet = await storm_through_fault(stack.url, browsers, people.post_ids, workers, inject, figures)
        await fleet.close()
        RECORDED.append(figures)
        return figures

    return storm


@pytest.fixture(autouse=True)
async def close_thread_connections() -> AsyncIterator[None]:
    yield
    # Queries ran on asgiref's thread; close its connection there so the test database can be dropped.
    await sync_to_async(connections.close_all)()


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not RECORDED:
        return
    terminalreporter.section("fault figures (docs/reliability.md)")
    terminalreporter.write_line(
        "| fault | writes | failed writes | non-200 answers | 500s | lost likes | events flow again after "
        "| every socket equals the database after | socket reconnects |"
    )
    terminalreporter.write_line("|---|---|---|---|---|---|---|---|---|")
    for figures in RECORDED:
        terminalreporter.write_line(figures.row())
    for figures in RECORDED:
        terminalreporter.write_line(f"- {figures.name}: {'; '.join([figures.injected, *figures.notes])}")


@pytest.fixture(autouse=True)
def stack_quiet_before_the_flush(transactional_db: None) -> Iterator[None]:
    """The stack runs on while each test's rows are flushed: the flush waits for its workers'
    transactions to end (a leaderboard refresh caught in it deadlocks the TRUNCATE)."""
    yield
    wait_out_other_transactions()
