"""Wall-clock timestamps as Rupa writes them, and the simulated clock that drives order status.

The simulated clock runs at `speed` simulated seconds per real second (0 = stopped). It is
piecewise linear: changing the speed starts a new segment, so a mapping back from simulated
time to wall time is exact within the current segment, which is all the lifecycle needs
(it catches up before every speed change).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def wall_now() -> datetime:
    """Now, as an aware datetime in the machine's local time zone."""
    return datetime.now(UTC).astimezone()


def from_epoch(seconds: float) -> datetime:
    """An epoch timestamp as an aware local datetime."""
    return datetime.fromtimestamp(seconds, UTC).astimezone()


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with offset (e.g. 2024-06-13T13:28:50.776301-07:00), or None."""
    return None if moment is None else moment.astimezone().isoformat()


class SimClock:
    """Simulated seconds since the simulator started, advancing at a changeable speed.

    Not thread-safe on its own: the simulator's state lock guards it.
    """

    def __init__(self, speed: float = 0.0) -> None:
        self._speed = speed
        self._segment_real = time.time()
        self._segment_sim = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        """The current simulated time (seconds)."""
        return self._segment_sim + (time.time() - self._segment_real) * self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (simulated time so far is kept)."""
        if speed < 0:
            raise ValueError("clock speed must not be negative")
        self._segment_sim = self.now()
        self._segment_real = time.time()
        self._speed = speed

    def jump(self, seconds: float) -> None:
        """Move simulated time forward at once by `seconds`."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._segment_sim = self.now() + seconds
        self._segment_real = time.time()

    def wall_time_of(self, sim_seconds: float) -> datetime:
        """The wall-clock moment a simulated time was (or is) reached.

        Moments before the current segment began (a jump, or a speed change) map to the
        segment's start, and so do all moments while the clock is stopped.
        """
        if self._speed <= 0 or sim_seconds <= self._segment_sim:
            return from_epoch(min(self._segment_real, time.time()))
        real = self._segment_real + (sim_seconds - self._segment_sim) / self._speed
        return from_epoch(min(real, time.time()))
