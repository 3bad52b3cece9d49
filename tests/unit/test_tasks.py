"""Named user tasks (a newer one cancels the older) and kept background tasks."""

from __future__ import annotations

import asyncio

import pytest

from rupa_desk.ui.tasks import BackgroundTasks, LatestTask, Superseded


async def test_a_newer_run_cancels_the_older_one() -> None:
    latest = LatestTask("search")
    started: list[str] = []

    async def query(text: str, delay: float) -> str:
        started.append(text)
        await asyncio.sleep(delay)
        return text

    older = asyncio.create_task(latest.run(query("vit", 5)))
    await asyncio.sleep(0.01)
    newer = await latest.run(query("vitamin", 0))
    assert newer == "vitamin"
    with pytest.raises(Superseded):
        await older
    assert started == ["vit", "vitamin"]
    assert not latest.running


async def test_a_failure_reaches_the_caller() -> None:
    latest = LatestTask("search")

    async def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await latest.run(broken())


async def test_cancelling_the_caller_cancels_the_run() -> None:
    latest = LatestTask("search")
    inner_cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            inner_cancelled.set()
            raise

    caller = asyncio.create_task(latest.run(slow()))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert inner_cancelled.is_set()  # the run had ended when the caller's cancel returned
    assert not latest.running


async def test_background_failures_are_reported_and_tasks_are_kept() -> None:
    failures: list[tuple[str, BaseException]] = []
    tasks = BackgroundTasks(lambda name, exc: failures.append((name, exc)))

    async def fail() -> None:
        raise ValueError("sync broke")

    async def wait_forever() -> None:
        await asyncio.Event().wait()

    tasks.spawn(fail(), name="catalog-sync")
    forever = tasks.spawn(wait_forever(), name="forever")
    await asyncio.sleep(0.01)
    assert [(n, str(e)) for n, e in failures] == [("catalog-sync", "sync broke")]
    assert tasks.running == [forever]
    await tasks.cancel_all()
    assert forever.cancelled()
    assert tasks.running == []
    assert len(failures) == 1  # a cancelled task is not a failure


async def test_shutdown_waits_for_superseded_runs_too() -> None:
    latest = LatestTask("detail")
    ended: list[str] = []

    async def load(name: str) -> None:
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0.05)  # e.g. closing a connection takes a moment
            ended.append(name)

    first = asyncio.create_task(latest.run(load("first")))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(latest.run(load("second")))
    await asyncio.sleep(0.01)
    with pytest.raises(Superseded):
        await first
    await latest.wait_cancelled()
    assert sorted(ended) == ["first", "second"]
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
