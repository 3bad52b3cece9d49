"""Async tasks the UI starts: kept, named, cancelled on purpose, and never failing silently.

Two kinds (STYLE.md, "Do" 5):

- `LatestTask`: a user-triggered fetch (a search, opening a record). Starting a newer one
  cancels the older one, so a slow old answer can never overwrite a newer one.
- `BackgroundTasks`: work nobody awaits (a catalog sync, restoring the session). Each task is
  referenced until it ends; a failure is handed to `on_failure` (which logs it and shows it as
  a bug report), and `cancel_all` stops them all at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

FailureHandler = Callable[[str, BaseException], None]


class Superseded(Exception):
    """A `LatestTask` run was cancelled because a newer one started."""


class BackgroundTasks:
    """The app's fire-and-forget tasks, kept referenced, their failures reported.

    Args:
        on_failure: called with the task's name and its exception when a task fails (not when it
            is cancelled).
    """

    def __init__(self, on_failure: FailureHandler) -> None:
        self._on_failure = on_failure
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Start `coro` as a named task that is kept until it ends."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def report_failure(self, name: str, exc: BaseException) -> None:
        """Report a failure of work that is not one of these tasks (a listener's own task,
        a handler nobody awaits) the way a task's failure is reported."""
        self._on_failure(name, exc)

    @property
    def running(self) -> list[asyncio.Task[Any]]:
        """The tasks that have not finished yet."""
        return [t for t in self._tasks if not t.done()]

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._on_failure(task.get_name(), exc)

    async def cancel_all(self) -> None:
        """Cancel every running task and wait until they have all ended."""
        tasks = self.running
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


class LatestTask:
    """Runs one user-triggered coroutine at a time: a newer run cancels the older one.

    Args:
        name: the name given to each task (shown in debuggers and logs).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._current: asyncio.Task[Any] | None = None
        self._ending: set[asyncio.Task[Any]] = set()  # cancelled, not finished yet

    @property
    def running(self) -> bool:
        """True while a run is in progress."""
        return self._current is not None and not self._current.done()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Cancel the previous run, run `coro` as a named task and return its result.

        Raises:
            Superseded: a newer run started before this one finished.
            Exception: whatever `coro` raised.
        """
        self.cancel()
        task = asyncio.get_running_loop().create_task(coro, name=self._name)
        self._current = task
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled() and not _current_task_cancelling():
                raise Superseded(self._name) from None
            task.cancel()  # the caller was cancelled: stop the run and wait until it has
            await asyncio.wait([task])
            raise
        finally:
            if self._current is task and task.done():
                self._current = None

    def cancel(self) -> None:
        """Cancel the run in progress, if any (it ends at its next await)."""
        task, self._current = self._current, None
        if task is not None and not task.done():
            task.cancel()
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)

    async def wait_cancelled(self) -> None:
        """Cancel the run in progress and wait until it, and every run cancelled before it,
        has ended (for shutdown: nothing of theirs still uses a connection being closed)."""
        self.cancel()
        if self._ending:
            await asyncio.gather(*self._ending, return_exceptions=True)


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
