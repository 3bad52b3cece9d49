"""Benchmark of reading structured results: one ORU^R01 message with many results.

    .venv/bin/python -m tests.bench.bench_hl7_results [--results 200] [--runs 200]

The message has one panel and `--results` OBX segments, a mix of numeric, structured
numeric, coded and text results with units, ranges, flags, LOINC codes and a comment every
tenth result, as bytes in UTF-8 (as downloaded). Each run reads it with `read_results` and
turns it into the rows the pane shows; the median, p95 and worst run are printed and
compared with the budget (exit status 1 when a p95 is over it). It is read twice over: all
ASCII, and with units such as µmol/L (UTF-8 beyond ASCII, as many labs send). Beside each,
an anchor: python-hl7's own parse of the same text, the part of the time that is the library's.

Figures from a shared, loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import hl7

from rupa_desk.core.hl7_results import read_results, result_rows

BUDGET_MS = 20.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def message(results: int, *, non_ascii: bool = False) -> bytes:
    """The message; `non_ascii`: every eighth result in µmol/L (UTF-8 beyond ASCII)."""
    segments = [
        "MSH|^~\\&|LAB|ACME|RUPA|DESK|20261207101500||ORU^R01^ORU_R01|M1|P|2.5.1"
        "||||||UNICODE UTF-8",
        "PID|1||P1||Lovelace^Ada",
        "OBR|1|OT1||24323-8^Comprehensive metabolic panel^LN|||20261205||||||||||||||||||F",
    ]
    for i in range(1, results + 1):
        kind = i % 4
        if kind == 0:
            units = "µmol/L" if non_ascii and i % 8 == 0 else "mg/dL"
            value = f"{90 + i % 30}.5"
            obx = f"OBX|{i}|NM|2345-7^Glucose {i}^LN||{value}|{units}|70-99|H|||F|||20261205"
        elif kind == 1:
            obx = f"OBX|{i}|SN|5048-4^ANA titer {i}^LN||^1^:^160||<1:40|A|||F"
        elif kind == 2:
            obx = f"OBX|{i}|CWE|5778-6^Color {i}^LN||YEL^Yellow^HL70000||||||C"
        else:
            obx = f"OBX|{i}|TX|X{i}^Interpretation {i}||Line one \\T\\ more~Line two||||||P"
        segments.append(obx)
        if i % 10 == 0:
            segments.append(f"NTE|1||Comment {i}\\.br\\second line")
    return "\r".join(segments).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=200)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    over = False
    for label, non_ascii in (("ASCII", False), ("UTF-8", True)):
        data = message(args.results, non_ascii=non_ascii)
        rows = result_rows(read_results(data))
        assert len(rows) == args.results, len(rows)
        timings = timed(lambda d=data: result_rows(read_results(d)), args.runs)
        p50, p95, worst = percentile(timings, 0.5), percentile(timings, 0.95), max(timings)
        print(
            f"read {args.results} results ({label}, {len(data)} bytes) x{args.runs}: "
            f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, worst {worst:.2f} ms "
            f"(budget {BUDGET_MS:.0f} ms)"
        )
        over = over or p95 > BUDGET_MS
        anchor = timed(lambda d=data: hl7.parse(d.decode("utf-8")), args.runs)
        print(
            f"  anchor: python-hl7's own parse of the same text x{args.runs}: "
            f"p50 {percentile(anchor, 0.5):.2f} ms, p95 {percentile(anchor, 0.95):.2f} ms, "
            f"worst {max(anchor):.2f} ms (no checks, no report: the floor of any reader on it)"
        )
    return 1 if over else 0


def timed(run: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds of each of `runs` calls of `run`."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


if __name__ == "__main__":
    sys.exit(main())
