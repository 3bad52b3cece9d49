"""The installed PySide6 does not have the Signal.emit() reference leak of 6.12.0.

PySide6 6.12.0's `SignalInstance.emit()` returns `True` without a new reference, so each emit
takes one reference from `True`; on Python 3.11 the process aborts ("bool_dealloc") after a few
hundred emits. pyproject.toml excludes that release; this test catches a regression.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    changed = Signal(object)


def test_emit_keeps_the_references_of_true_false_and_none() -> None:
    emitter = _Emitter()
    received: list[object] = []
    emitter.changed.connect(received.append)
    before = [sys.getrefcount(x) for x in (True, False, None)]
    for _ in range(200):
        emitter.changed.emit(1)
    after = [sys.getrefcount(x) for x in (True, False, None)]
    emitter.changed.disconnect(received.append)
    assert len(received) == 200
    assert after[0] >= before[0], "Signal.emit() leaks references to True (PySide6 6.12.0)"
