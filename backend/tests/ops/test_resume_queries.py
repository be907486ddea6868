"""The resume query counters on /metrics: a statement run inside a resume is counted, one
outside is not. (A resume within the backlog counting none: tests/realtime/test_resume.py.)"""

import pytest
from channels.db import database_sync_to_async

from accounts.models import User
from ops.resume_queries import counts_resume_queries
from testing.plugin import resume_counters

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_statement_run_inside_a_resume_is_counted_and_one_outside_is_not() -> None:
    count_users = database_sync_to_async(User.objects.count)

    @counts_resume_queries
    async def a_resume_that_reads() -> int:
        return await count_users()

    # Outside a resume first: this also opens the executor thread's connection.
    before = resume_counters()
    await count_users()
    assert resume_counters() == before
    await a_resume_that_reads()
    queries, resumes = resume_counters()
    assert (queries - before[0], resumes - before[1]) == (1, 1)
