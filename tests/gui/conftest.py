"""GUI tests: pytest-qt, offscreen, on a qasync loop (see tests/fixtures/qt.py).

Write GUI tests as `async def`; await presenters' coroutines directly, and use `wait_until` /
`wait_for_signal` (never qtbot's blocking waits) for what happens later.
"""

from __future__ import annotations

from tests.fixtures.desk import make_desk
from tests.fixtures.qt import (
    _no_leftover_tasks,
    _no_leftover_widgets,
    pytest_asyncio_loop_factories,
    qasync_loop,
)

__all__ = [
    "_no_leftover_tasks",
    "_no_leftover_widgets",
    "make_desk",
    "pytest_asyncio_loop_factories",
    "qasync_loop",
]
