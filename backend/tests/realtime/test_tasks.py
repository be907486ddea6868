"""Stopping background tasks for sure, even one that swallows a cancel."""

import asyncio

from realtime.tasks import cancel_and_wait


def _task_that_swallows(cancels: int, heard: list[int]) -> "asyncio.Task[None]":
    """A task that goes on after its first `cancels` - 1 cancels, as wait_for can make it."""

    async def run() -> None:
        while True:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                heard.append(1)
                if len(heard) == cancels:
                    raise

    return asyncio.create_task(run())


async def test_a_task_that_swallowed_a_cancel_is_cancelled_again_until_it_ended() -> None:
    heard: list[int] = []
    stubborn = _task_that_swallows(2, heard)
    await asyncio.sleep(0)  # one turn of the loop: the task is waiting inside
    await cancel_and_wait([stubborn])
    assert stubborn.cancelled() and len(heard) == 2


async def test_a_task_that_takes_the_cancel_is_cancelled_once() -> None:
    heard: list[int] = []
    obedient = _task_that_swallows(1, heard)
    await asyncio.sleep(0)
    await cancel_and_wait([obedient])
    assert obedient.cancelled() and len(heard) == 1
