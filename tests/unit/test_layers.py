"""The layer rule, enforced: ui -> services -> core, Qt only in ui/, QtWebEngine only in ui/web/,
and the simulator shares no code with the app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rupa_desk"
QT_MODULES = ("PySide6", "shiboken6", "qasync")


def imports_of(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """Every module name a file imports, relative imports resolved to rupa_desk.*.

    Args:
        path: a file below `root`/rupa_desk.
        root: the folder that holds the rupa_desk package (the worktree; a test's tmp_path).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parts = path.relative_to(root).with_suffix("").parts
    package = parts[:-1]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                names.append(".".join([*base, node.module] if node.module else base))
            else:
                names.append(node.module or "")
    return names


def files_under(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


def violations(
    files: list[Path], forbidden: tuple[str, ...], root: Path = PACKAGE.parent
) -> list[str]:
    found = []
    for path in files:
        for name in imports_of(path, root):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(root).as_posix()} imports {name}")
    return found


def test_core_imports_no_qt_services_ui_or_io_libraries() -> None:
    forbidden = (
        *QT_MODULES,
        "rupa_desk.services",
        "rupa_desk.ui",
        "rupa_desk.sandbox",
        "rupa_desk.epic_sandbox",
        "rupa_desk.app",
        "rupa_desk.desk",
        "httpx",
        "sqlite3",
        "sqlite_utils",
        "keyring",
    )
    assert violations(files_under("core"), forbidden) == []


def test_services_import_no_qt_and_no_ui() -> None:
    forbidden = (
        *QT_MODULES,
        "rupa_desk.ui",
        "rupa_desk.sandbox",
        "rupa_desk.epic_sandbox",
        "rupa_desk.app",
        "rupa_desk.desk",
    )
    assert violations(files_under("services", "cli"), forbidden) == []


def test_sandbox_shares_no_code_with_the_app() -> None:
    forbidden = (
        *QT_MODULES,
        "rupa_desk.core",
        "rupa_desk.services",
        "rupa_desk.ui",
        "rupa_desk.app",
        "rupa_desk.desk",
        "rupa_desk.settings",
        "rupa_desk.paths",
        "rupa_desk.cli",
    )
    assert violations(files_under("sandbox", "epic_sandbox"), forbidden) == []


def test_qtwebengine_only_in_ui_web() -> None:
    outside_web = [p for p in PACKAGE.rglob("*.py") if (PACKAGE / "ui" / "web") not in p.parents]
    assert violations(outside_web, ("PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineCore")) == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rule can fail: a file importing PySide6, directly or relatively, is reported."""
    core = tmp_path / "rupa_desk" / "core"
    core.mkdir(parents=True)
    bad = core / "layer_probe.py"
    bad.write_text("from PySide6 import QtCore\nfrom ..ui import messages\n", encoding="utf-8")
    assert violations([bad], (*QT_MODULES, "rupa_desk.ui"), root=tmp_path) == [
        "rupa_desk/core/layer_probe.py imports PySide6",
        "rupa_desk/core/layer_probe.py imports rupa_desk.ui",
    ]
    assert not list(PACKAGE.rglob("*probe*"))  # nothing was written into the package


@pytest.mark.timeout(120)
def test_core_services_and_sandbox_import_without_qt_installed() -> None:
    """Import every non-UI module in a fresh interpreter where PySide6 cannot be imported."""
    modules = [
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in files_under("core", "services", "sandbox", "epic_sandbox", "cli")
        if p.name != "__main__.py"
    ]
    script = (
        "import sys\n"
        "for blocked in ('PySide6', 'shiboken6', 'qasync'):\n"
        "    sys.modules[blocked] = None\n"
        "import importlib\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = [m for m in sys.modules if m.startswith(('PySide6', 'qasync'))]\n"
        "assert not [m for m in loaded if sys.modules[m] is not None], loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
