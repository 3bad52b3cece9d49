"""Benchmark of the self-contained bundle against the virtual-environment install.

    python packaging/build.py                       # first: dist/rupa-desk and the .deb
    .venv/bin/python -m tests.bench.bench_bundle [--dist dist] [--runs 7]

1. Sizes: the bundle folder on disk, and the .deb.
2. Cold start to the first paint: `dist/rupa-desk/rupa-desk` and `.venv/bin/rupa-desk`, each
   started as a fresh process with a fresh profile (offscreen), runs interleaved, medians and
   the ratio bundle / venv (target ≤ 1.2×). Neither process gets a hook: the app opens its log
   file right after its first paint (it keeps its records in memory until then), so the moment
   the log file appears is the paint, seen from outside in the same way for both.
   The CPU time each process used until then is printed too: it moves less with the machine's
   load than the wall time.
3. Idle memory: the resident set of each, a few seconds after start-up (sign-in page).
4. Bad input: the bundle where its user cannot write (a read-only copy, run as `nobody` when
   the benchmark runs as root): its self-check; then with a home it cannot write either, what
   it says and its exit code; and whether its folder and the user's files are unchanged.

Figures from a shared, loaded machine are noisy; compare the ratio. One untimed round of both
comes first, so that both find their files in the OS cache, and the venv's Rupa Desk is
compiled to bytecode first, as an installed wheel is (the bundle carries bytecode).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
IDLE_S = 4.0
PAINT_TIMEOUT_S = 60.0


@dataclass
class Start:
    painted_s: float
    cpu_s: float
    rss_mb: float


def disk_size(path: Path) -> int:
    """Bytes on disk (allocated blocks) of a file or folder."""
    if path.is_file():
        return path.stat().st_blocks * 512
    return sum(p.lstat().st_blocks * 512 for p in path.rglob("*"))


def start(command: list[str], *, idle: bool) -> Start:
    """Start the app with a fresh profile; time its first paint; read its idle memory."""
    with tempfile.TemporaryDirectory(prefix="rupa-bench-bundle-") as temp:
        home = Path(temp)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYTHON"))},
            "HOME": str(home),
            "QT_QPA_PLATFORM": "offscreen",
        }
        log_file = home / ".local" / "state" / "RupaDesk" / "log" / "rupa-desk.log"
        began = time.perf_counter()
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            while not log_file.exists():
                if child.poll() is not None:
                    raise RuntimeError(f"{command[0]} stopped before its first paint")
                if time.perf_counter() - began > PAINT_TIMEOUT_S:
                    raise RuntimeError(f"{command[0]} did not paint in {PAINT_TIMEOUT_S} s")
                time.sleep(0.001)
            painted = time.perf_counter() - began
            times = psutil.Process(child.pid).cpu_times()
            cpu = times.user + times.system
            rss = 0.0
            if idle:
                time.sleep(IDLE_S)
                rss = psutil.Process(child.pid).memory_info().rss / 2**20
        finally:
            child.terminate()
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return Start(painted, cpu, rss)


def log_folder_check() -> None:
    """The timing relies on platformdirs' log folder under HOME; make sure it is that one."""
    import platformdirs

    with tempfile.TemporaryDirectory() as temp:
        saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("XDG_")}
        home = os.environ.get("HOME")
        os.environ["HOME"] = temp
        try:
            where = Path(platformdirs.user_log_dir("RupaDesk", "RupaDesk"))
        finally:
            os.environ.update(saved)
            if home is not None:
                os.environ["HOME"] = home
        assert where == Path(temp) / ".local" / "state" / "RupaDesk" / "log", where


def bad_input(bundle: Path) -> list[str]:
    """Run the bundle from a read-only copy: with a home its user can write to (the
    self-check), then with one it cannot (the app)."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="rupa-bench-readonly-") as temp:
        folder = Path(temp)
        folder.chmod(0o755)
        copy = folder / "rupa-desk"
        shutil.copytree(bundle, copy, symlinks=True)
        writable, read_only = folder / "home", folder / "read-only-home"
        writable.mkdir()
        (read_only / ".config").mkdir(parents=True)
        kept = read_only / ".config" / "notes.txt"
        kept.write_text("the user's own file", encoding="utf-8")
        prefix = []
        if os.geteuid() == 0:  # root writes anywhere: run as a user who cannot
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
            shutil.chown(writable, "nobody", "nogroup")
        subprocess.run(["chmod", "-R", "a-w", str(copy), str(read_only)], check=True)
        before = sorted(str(p) for p in copy.rglob("*"))
        env = {"PATH": "/usr/bin:/bin", "HOME": str(writable), "TMPDIR": str(writable)}
        done = subprocess.run(
            [*prefix, str(copy / "rupa-desk"), "--self-check"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        last = done.stdout.strip().splitlines()[-1:] or ["(no output)"]
        lines.append(f"  read-only bundle, --self-check: exit code {done.returncode}, {last[0]}")
        done = subprocess.run(
            [*prefix, str(copy / "rupa-desk")],
            env={"PATH": "/usr/bin:/bin", "HOME": str(read_only), "QT_QPA_PLATFORM": "offscreen"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        lines.append(f"  and a read-only home: exit code {done.returncode}; it said:")
        lines.append(f"    {done.stderr.strip()}")
        unchanged = (
            before == sorted(str(p) for p in copy.rglob("*"))
            and sorted(p.name for p in read_only.rglob("*")) == [".config", "notes.txt"]
            and kept.read_text(encoding="utf-8") == "the user's own file"
        )
        lines.append(f"  the bundle's folder and the user's files unchanged: {unchanged}")
        subprocess.run(["chmod", "-R", "u+w", str(folder)], check=False)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="the build's folder")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="the venv install")
    parser.add_argument("--runs", type=int, default=7, help="cold starts of each (default 7)")
    options = parser.parse_args()
    bundle = options.dist / "rupa-desk"
    executable = bundle / "rupa-desk"
    if not executable.is_file():
        sys.exit(f"No bundle at {bundle}: build it first with `python packaging/build.py`.")
    debs = sorted(options.dist.glob("rupa-desk_*.deb"))
    venv_command = [str(options.venv / "bin" / "rupa-desk")]
    log_folder_check()
    # The venv's Rupa Desk as pip would install it: compiled (the bundle carries bytecode).
    compileall.compile_dir(ROOT / "rupa_desk", quiet=1)
    print(f"Bundle on disk: {disk_size(bundle) / 2**20:.0f} MiB ({bundle})")
    if debs:
        print(f".deb: {debs[-1].stat().st_size / 2**20:.0f} MiB ({debs[-1].name})")
    else:
        print(".deb: not built (packaging/build.py without --no-installer makes it)")

    print("Warm-up round (not counted)…", flush=True)
    start([str(executable)], idle=False)
    start(venv_command, idle=False)
    bundled: list[Start] = []
    venv: list[Start] = []
    for run in range(options.runs):
        print(f"Cold starts, round {run + 1}/{options.runs}…", flush=True)
        idle = run == 0
        # Interleaved, and the order alternates, so a machine's load hits both alike.
        if run % 2 == 0:
            bundled.append(start([str(executable)], idle=idle))
            venv.append(start(venv_command, idle=idle))
        else:
            venv.append(start(venv_command, idle=idle))
            bundled.append(start([str(executable)], idle=idle))

    def median_ms(runs: list[Start]) -> float:
        return statistics.median(r.painted_s for r in runs) * 1000

    b, v = median_ms(bundled), median_ms(venv)
    print()
    print(f"Cold start to first paint, median of {options.runs} (offscreen):")
    print(f"  bundle {b:7.0f} ms   runs: {', '.join(f'{r.painted_s * 1000:.0f}' for r in bundled)}")
    print(f"  venv   {v:7.0f} ms   runs: {', '.join(f'{r.painted_s * 1000:.0f}' for r in venv)}")
    print(f"  ratio bundle / venv: {b / v:.2f}x (target <= 1.2x)")
    bc = statistics.median(r.cpu_s for r in bundled) * 1000
    vc = statistics.median(r.cpu_s for r in venv) * 1000
    print("CPU time (user + system) of the process up to its first paint, median (steadier")
    print("than the wall time on a loaded machine):")
    print(f"  bundle {bc:7.0f} ms   venv {vc:7.0f} ms   ratio {bc / vc:.2f}x")
    print(f"Idle memory (RSS, {IDLE_S:.0f} s after the paint, sign-in page, demo simulator on):")
    print(f"  bundle {bundled[0].rss_mb:.0f} MiB   venv {venv[0].rss_mb:.0f} MiB")
    print("Bad input: the bundle in a folder its user cannot write to:")
    for line in bad_input(bundle):
        print(line)


if __name__ == "__main__":
    main()
