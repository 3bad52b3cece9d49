"""Benchmark: Epic patient search and a day's schedule through the app's Epic client, against
the Epic simulator on loopback.

    .venv/bin/python -m tests.bench.bench_epic [--searches 200] [--appointments 200]

Connects through the simulator's real sign-in page, then measures:

1. patient searches (family + given + birthdate, one at a time, `--pace-ms` apart so that
   the client's own pacing, 20 requests a second, is not what is measured): p50, p95, max;
2. the schedule of a day with `--appointments` appointments, followed page by page
   (`link[relation=next]`, the simulator's page size), and the longest stall of the event
   loop while it runs (a ticker every 5 ms notes how late it wakes).

Figures depend on the machine: on a shared, loaded one they vary.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from rupa_desk.epic_sandbox.config import DEMO_CLIENT_ID, EpicConfig
from rupa_desk.epic_sandbox.server import EpicServer
from rupa_desk.services.epic.client import EpicClient
from rupa_desk.services.epic.connection import EpicConnection
from rupa_desk.services.secrets import MemorySecretStore
from rupa_desk.settings import EpicSettings
from tests.fixtures.epic import PlayedEpicBrowser


async def loop_stall(stop: asyncio.Event) -> float:
    """The longest time the loop woke late for a 5 ms sleep, in ms."""
    worst = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        worst = max(worst, (time.perf_counter() - started - 0.005) * 1000)
    return worst


async def main(searches: int, appointments: int, pace_ms: float) -> None:
    config = EpicConfig(generated_patients=500, appointments_today=appointments, page_size=50)
    with EpicServer(config) as server:
        settings = EpicSettings(server.fhir_base, DEMO_CLIENT_ID)
        connection = EpicConnection(settings, MemorySecretStore(), opener=PlayedEpicBrowser())
        client = EpicClient(settings, connection)
        try:
            await connection.connect(timeout_s=30)
            patients = list(server.epic.patients.values())
            times = []
            for index in range(searches):
                await asyncio.sleep(pace_ms / 1000)  # a person searching, not a loop
                p = patients[index % len(patients)]
                started = time.perf_counter()
                found = await client.search_patients(
                    family=p.family, given=p.given[0], birth_date=p.birth_date
                )
                times.append((time.perf_counter() - started) * 1000)
                assert any(f.id == p.id for f in found)
            cuts = statistics.quantiles(times, n=100)
            print(
                f"patient search x{searches}: p50 {cuts[49]:.1f} ms  p95 {cuts[94]:.1f} ms  "
                f"max {max(times):.1f} ms"
            )
            stop = asyncio.Event()
            ticker = asyncio.create_task(loop_stall(stop))
            started = time.perf_counter()
            visits = await client.schedule(server.epic.today)
            elapsed = (time.perf_counter() - started) * 1000
            stop.set()
            stall = await ticker
            print(
                f"schedule of {len(visits)} appointments ({-(-len(visits) // 50)} pages): "
                f"{elapsed:.1f} ms, longest loop stall {stall:.1f} ms"
            )
        finally:
            await client.aclose()
            await connection.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--appointments", type=int, default=200)
    parser.add_argument(
        "--pace-ms", type=float, default=100, help="wait between searches (0: back to back)"
    )
    options = parser.parse_args()
    asyncio.run(main(options.searches, options.appointments, options.pace_ms))
