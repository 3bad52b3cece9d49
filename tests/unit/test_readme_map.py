"""The README's architecture map lists every module and folder of rupa_desk/, and nothing that
is not there; the resources it names ship with the package and are what they claim to be."""

from __future__ import annotations

import configparser
import fnmatch
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from rupa_desk.paths import APP_ICON, RESOURCES_DIR, resource_file

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rupa_desk"
#: A name in the map: a folder (ending in /) or a file the map lists.
NAME = re.compile(r"[\w.-]+(?:/|\.py|\.svg|\.desktop|\.css)")


def architecture_map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1]
    return section.split("```", 2)[1]


def mapped_paths(block: str) -> set[str]:
    """Repository paths of the map's entries: indentation (two spaces) nests them in folders.

    An entry line starts with one or more names; the words after them describe them. A line
    that starts with anything else continues a description.
    """
    found: set[str] = set()
    folders: list[tuple[int, str]] = []  # (depth, path), innermost last
    for line in block.splitlines():
        text = line.lstrip(" ")
        names = []
        for word in text.split():
            if not NAME.fullmatch(word):
                break
            names.append(word)
        if not names:
            continue
        depth = (len(line) - len(text)) // 2
        while folders and folders[-1][0] >= depth:
            folders.pop()
        parent = folders[-1][1] if folders else ""
        found.update(parent + name for name in names)
        if len(names) == 1 and names[0].endswith("/"):
            folders.append((depth, parent + names[0]))
    return found


def package_paths() -> set[str]:
    """Every folder, module and shipped file of rupa_desk/ (but __init__.py and caches)."""
    found = {"rupa_desk/"}
    for path in PACKAGE.rglob("*"):
        if "__pycache__" in path.parts or path.name == "__init__.py":
            continue
        relative = path.relative_to(ROOT).as_posix()
        if path.is_dir():
            found.add(relative + "/")
        elif path.suffix in (".py", ".svg", ".desktop", ".css"):
            found.add(relative)
    return found


def test_the_parser_nests_entries_in_their_folders() -> None:
    block = "a/\n  b.py  text\n  c/    text\n    d.py  e.py\n           more text\nf/  x\n"
    assert mapped_paths(block) == {"a/", "a/b.py", "a/c/", "a/c/d.py", "a/c/e.py", "f/"}


def test_the_map_lists_every_module_and_folder_and_nothing_else() -> None:
    mapped = mapped_paths(architecture_map())
    in_package = {p for p in mapped if p.startswith("rupa_desk/")}
    actual = package_paths()
    assert sorted(actual - in_package) == [], "missing from the README's map"
    assert sorted(in_package - actual) == [], "in the README's map but not in rupa_desk/"
    outside = sorted(p for p in mapped if not p.startswith("rupa_desk/"))
    assert outside == ["packaging/", "tests/"]
    assert all((ROOT / p).is_dir() for p in outside)


def test_the_resources_ship_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    assert find.get("namespaces", True)  # rupa_desk/resources/ has no __init__.py
    patterns = pyproject["tool"]["setuptools"]["package-data"]["*"]
    files = [p for p in RESOURCES_DIR.iterdir() if p.is_file()]
    assert files
    for file in files:
        assert any(fnmatch.fnmatch(file.name, pattern) for pattern in patterns), file.name


def test_the_icon_is_an_svg_picture() -> None:
    root = ET.parse(resource_file(APP_ICON)).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 64 64"


def test_the_desktop_entry_starts_the_installed_command_with_the_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(resource_file("rupa-desk.desktop"), encoding="utf-8")
    desktop = entry["Desktop Entry"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert desktop["Type"] == "Application"
    assert desktop["Name"] == "Rupa Desk"
    assert desktop["Exec"] in pyproject["project"]["scripts"]
    assert desktop["Icon"] + ".svg" == APP_ICON
    assert desktop["Categories"].endswith(";")


def test_packaging_says_how_to_package() -> None:
    text = (ROOT / "packaging" / "README.md").read_text(encoding="utf-8")
    assert "python -m build --wheel" in text
    assert "rupa-desk.desktop" in text
