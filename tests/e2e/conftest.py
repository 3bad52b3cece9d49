"""End-to-end tests: the whole app (`rupa_desk.app`) against the simulator over loopback HTTP.

Same qasync harness as the GUI tests (tests/fixtures/qt.py): write tests as `async def`.
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
