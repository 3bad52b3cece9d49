"""Saved panels on this computer: the `panels` and `panel_tests` tables (migration m012).

A panel's name is unique on the computer whatever its case, so that "Thyroid basics" is one
panel, and importing a clinic's file again updates its panels instead of doubling them. Every
change is one transaction: an import saves all of its panels or none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from rupa_desk.core.money import cents_to_price, price_to_cents
from rupa_desk.core.panels import (
    InvalidPanel,
    NewPanel,
    Panel,
    PanelTest,
    new_panel,
    panel_name,
)
from rupa_desk.services.store.errors import StoreError
from rupa_desk.services.store.sync_state import to_iso, utc_now


class UnknownPanelError(StoreError, LookupError):
    """No panel with this id is on this computer."""

    def __init__(self, panel_id: str) -> None:
        self.panel_id = panel_id
        super().__init__("This panel is no longer on this computer (it may have been deleted).")


@dataclass(frozen=True, slots=True)
class ImportedPanels:
    """What an import did: the names of the panels added, and of those it replaced."""

    added: tuple[str, ...]
    replaced: tuple[str, ...]


class Panels:
    """The saved panels of this account's database."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    # -- reading -------------------------------------------------------------------------------

    def all(self) -> list[Panel]:
        """Every panel, by name."""
        rows = self._db.execute(
            "SELECT id, name FROM panels ORDER BY name COLLATE NOCASE, id"
        ).fetchall()
        tests = self._tests([str(r[0]) for r in rows])
        return [Panel(str(r[0]), str(r[1]), tests.get(str(r[0]), ())) for r in rows]

    def get(self, panel_id: str) -> Panel:
        """One panel.

        Raises:
            UnknownPanelError: there is no such panel.
        """
        row = self._db.execute("SELECT id, name FROM panels WHERE id = ?", [panel_id]).fetchone()
        if row is None:
            raise UnknownPanelError(panel_id)
        return Panel(str(row[0]), str(row[1]), self._tests([panel_id]).get(panel_id, ()))

    def find(self, name: str) -> Panel | None:
        """The panel named `name` (any case, spaces as `panel_name` cleans them), if any."""
        row = self._db.execute(
            "SELECT id FROM panels WHERE name = ? COLLATE NOCASE", [panel_name(name)]
        ).fetchone()
        return None if row is None else self.get(str(row[0]))

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM panels").fetchone()[0])

    # -- writing -------------------------------------------------------------------------------

    def create(self, name: str, tests: Sequence[PanelTest]) -> Panel:
        """Save a new panel.

        Raises:
            InvalidPanel: no name or no tests, or a panel of that name exists already.
        """
        panel = new_panel(name, tests)
        with self._db.atomic():
            self._refuse_taken(panel.name, None)
            panel_id = f"panel_{uuid.uuid4().hex}"
            now = to_iso(self._clock())
            self._db.execute(
                "INSERT INTO panels (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                [panel_id, panel.name, now, now],
            )
            self._write_tests(panel_id, panel.tests)
        return self.get(panel_id)

    def update(self, panel_id: str, name: str, tests: Sequence[PanelTest]) -> Panel:
        """Give a panel a new name and tests (the person edited it).

        Raises:
            UnknownPanelError: it was deleted.
            InvalidPanel: no name or no tests, or another panel has that name.
        """
        panel = new_panel(name, tests)
        with self._db.atomic():
            self.get(panel_id)
            self._refuse_taken(panel.name, panel_id)
            self._db.execute(
                "UPDATE panels SET name = ?, updated_at = ? WHERE id = ?",
                [panel.name, to_iso(self._clock()), panel_id],
            )
            self._db.execute("DELETE FROM panel_tests WHERE panel_id = ?", [panel_id])
            self._write_tests(panel_id, panel.tests)
        return self.get(panel_id)

    def delete(self, panel_id: str) -> None:
        """Delete a panel (nothing happens when it is gone already)."""
        with self._db.atomic():
            self._db.execute("DELETE FROM panel_tests WHERE panel_id = ?", [panel_id])
            self._db.execute("DELETE FROM panels WHERE id = ?", [panel_id])

    def import_panels(self, panels: Sequence[NewPanel]) -> ImportedPanels:
        """Save the panels of a file: all of them or, on any failure, none.

        A panel named like one on this computer (any case) replaces its tests: importing the
        clinic's file again brings every PC up to date without doubling its panels.
        """
        added: list[str] = []
        replaced: list[str] = []
        with self._db.atomic():
            for panel in panels:
                existing = self.find(panel.name)
                if existing is None:
                    self.create(panel.name, panel.tests)
                    added.append(panel.name)
                else:
                    self.update(existing.id, panel.name, panel.tests)
                    replaced.append(panel.name)
        return ImportedPanels(tuple(added), tuple(replaced))

    def _refuse_taken(self, name: str, panel_id: str | None) -> None:
        row = self._db.execute(
            "SELECT id FROM panels WHERE name = ? COLLATE NOCASE", [name]
        ).fetchone()
        if row is not None and row[0] != panel_id:
            raise InvalidPanel(f"A panel named “{name}” exists already. Choose another name.")

    def _write_tests(self, panel_id: str, tests: Sequence[PanelTest]) -> None:
        self._db.conn.executemany(
            "INSERT INTO panel_tests (panel_id, position, lab_test_id, name, lab_company,"
            " price_cents) VALUES (?, ?, ?, ?, ?, ?)",
            [
                [panel_id, position, t.lab_test_id, t.name, t.lab_company, price_to_cents(t.price)]
                for position, t in enumerate(tests)
            ],
        )

    def _tests(self, panel_ids: Sequence[str]) -> dict[str, tuple[PanelTest, ...]]:
        found: dict[str, list[PanelTest]] = {}
        if not panel_ids:
            return {}
        marks = ", ".join("?" for _ in panel_ids)
        rows = self._db.execute(
            "SELECT panel_id, lab_test_id, name, lab_company, price_cents FROM panel_tests"
            f" WHERE panel_id IN ({marks}) ORDER BY panel_id, position",
            list(panel_ids),
        ).fetchall()
        for r in rows:
            test = PanelTest(str(r[1]), str(r[2]), str(r[3]), cents_to_price(r[4]))
            found.setdefault(str(r[0]), []).append(test)
        return {panel_id: tuple(tests) for panel_id, tests in found.items()}
