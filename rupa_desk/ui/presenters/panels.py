"""The Panels pane's presenter: saved panels made from a draft or the catalog, edited,
deleted, shared as a file, and added to a draft in one action.

A panel is added through the drafts' own "Add to draft" path (`DraftTarget.add_lab_test`,
the catalog's), one test after the other, and the person is told once what happened: how
many tests went on the draft, which tests left the catalog (not added), and which prices
moved since the panel was saved. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Protocol

from PySide6.QtCore import QObject, Signal

from rupa_desk.core.errors import InvalidInput
from rupa_desk.core.models import LabTest
from rupa_desk.core.panels import (
    MAX_FILE_BYTES,
    Panel,
    PanelFileError,
    PanelTest,
    check_panel,
    export_panels,
    read_panels_file,
)
from rupa_desk.services.store import (
    Catalog,
    Drafts,
    DraftTest,
    Panels,
    StoreError,
    UnknownDraftError,
    UnknownLabTestError,
    UnknownPanelError,
)
from rupa_desk.ui.formatting import tests_count
from rupa_desk.ui.messages import Level, MessageBridge
from rupa_desk.ui.presenters.catalog import DraftTarget

log = logging.getLogger(__name__)

#: The name a new panel gets until the person types one ("New panel 2" when taken).
NEW_PANEL_NAME: Final = "New panel"
#: The file name the export suggests.
EXPORT_FILE_NAME: Final = "Rupa Desk panels.json"


class CurrentDraft(Protocol):
    """The draft "Save the current draft as a panel" reads (the drafts presenter)."""

    @property
    def current(self) -> str | None:
        """The id of the draft shown in Draft orders (None: no draft)."""


class PanelsPresenter(QObject):
    """Runs the Panels pane's requests.

    Args:
        panels: the saved panels of this account's database.
        catalog: the local catalog (a panel is checked against it when used).
        drafts: the drafts (to read the current draft's tests).
        draft_target: where "Add panel to draft" puts each test (the drafts presenter).
        current_draft: which draft is current (the drafts presenter).
        bridge: messages to the user.

    Signals:
        panels_changed(): panels were added, renamed, edited or deleted (read the list again).
        current_changed(str): the panel to show in the editor (its id; "" for none).
    """

    panels_changed = Signal()
    current_changed = Signal(str)

    def __init__(
        self,
        panels: Panels,
        catalog: Catalog,
        drafts: Drafts,
        draft_target: DraftTarget,
        current_draft: CurrentDraft,
        bridge: MessageBridge,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._panels = panels
        self._catalog = catalog
        self._drafts = drafts
        self._target = draft_target
        self._current_draft = current_draft
        self._bridge = bridge
        self._current: str | None = None

    # -- reading -------------------------------------------------------------------------------

    def panels(self) -> list[Panel]:
        """Every saved panel, by name."""
        return self._panels.all()

    def panel(self, panel_id: str) -> Panel | None:
        """One panel (None: it was deleted)."""
        try:
            return self._panels.get(panel_id)
        except UnknownPanelError:
            return None

    @property
    def current(self) -> str | None:
        """The panel shown in the editor."""
        return self._current

    def set_current(self, panel_id: str | None) -> None:
        if panel_id != self._current:
            self._current = panel_id
            self.current_changed.emit(panel_id or "")

    # -- making and editing --------------------------------------------------------------------

    def save_current_draft(self) -> Panel | None:
        """A new panel of the current draft's tests, named "New panel" until renamed.

        Returns:
            The panel; None when there is no draft with tests (the user was told).
        """
        draft_id = self._current_draft.current
        try:
            tests = self._drafts.tests(draft_id) if draft_id is not None else []
        except UnknownDraftError:
            tests = []
        if not tests:
            self._bridge.warning(
                "No tests to save: open a draft with tests in Draft orders, then save it as "
                "a panel."
            )
            return None
        return self._create([self._panel_test(test) for test in tests])

    def save_tests(self, lab_test_ids: Sequence[str]) -> Panel | None:
        """A new panel of these catalog tests (a catalog selection), named "New panel"."""
        tests = []
        for lab_test_id in lab_test_ids:
            try:
                tests.append(PanelTest.of(self._catalog.get_test(lab_test_id)))
            except UnknownLabTestError:
                continue  # gone since it was listed: the panel holds what the catalog has
        if not tests:
            self._bridge.warning("These tests are no longer in the catalog. Search again.")
            return None
        return self._create(tests)

    def add_test(self, panel_id: str, lab_test_id: str) -> bool:
        """Add a catalog test at the end of a panel (True when the panel now has it)."""
        panel = self.panel(panel_id)
        try:
            test = PanelTest.of(self._catalog.get_test(lab_test_id))
        except UnknownLabTestError:
            self._bridge.warning("This test is no longer in the catalog. Search again.")
            return False
        if panel is None:
            self._bridge.warning("This panel was deleted. Choose another one.")
            return False
        if any(t.lab_test_id == test.lab_test_id for t in panel.tests):
            self._bridge.info(f"“{test.name}” is already in the panel “{panel.name}”.")
            return True
        if self.update(panel_id, panel.name, [*panel.tests, test]):
            self._bridge.info(f"Added “{test.name}” to the panel “{panel.name}”.")
            return True
        return False

    def update(self, panel_id: str, name: str, tests: Sequence[PanelTest]) -> bool:
        """Save a panel's new name and tests; False when refused (the user was told why)."""
        try:
            self._panels.update(panel_id, name, tests)
        except (InvalidInput, StoreError) as exc:
            self._bridge.known_error(exc, level=Level.WARNING, not_done="The panel was not saved.")
            return False
        self.panels_changed.emit()
        return True

    def rename(self, panel_id: str, name: str) -> bool:
        """Give a panel a new name (False when refused: empty, or used by another panel)."""
        panel = self.panel(panel_id)
        if panel is None:
            return False
        if name == panel.name:
            return True
        return self.update(panel_id, name, panel.tests)

    def remove_test(self, panel_id: str, lab_test_id: str) -> bool:
        """Take a test out of a panel (a panel keeps one test at least)."""
        panel = self.panel(panel_id)
        if panel is None:
            return False
        kept = [test for test in panel.tests if test.lab_test_id != lab_test_id]
        return self.update(panel_id, panel.name, kept)

    def deletion_question(self, panel_id: str) -> str:
        """What the person confirms before a panel is deleted."""
        panel = self.panel(panel_id)
        name = panel.name if panel is not None else "this panel"
        return (
            f"Delete the panel “{name}”? Drafts and orders made with it keep their tests; "
            "other computers keep their copy."
        )

    def delete(self, panel_id: str) -> None:
        """Delete a panel (the pane asks first)."""
        try:
            self._panels.delete(panel_id)
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="The panel was not deleted.")
            return
        if self._current == panel_id:
            self.set_current(None)
        self.panels_changed.emit()

    # -- using ---------------------------------------------------------------------------------

    async def add_to_draft(self, panel_id: str) -> bool:
        """Put every test of the panel still in the catalog on the current draft, and say
        what was added, what was not (it left the catalog) and which prices moved.

        Returns:
            True when at least one test is on the draft now.
        """
        panel = self.panel(panel_id)
        if panel is None:
            self._bridge.warning("This panel was deleted. Choose another one.")
            return False
        found: dict[str, LabTest] = {}
        for saved in panel.tests:
            with contextlib.suppress(UnknownLabTestError):  # named in the check's notes
                found[saved.lab_test_id] = self._catalog.get_test(saved.lab_test_id)
        check = check_panel(panel.tests, found)
        draft_before = self._current_draft.current
        on_it_before = set(self._draft_test_ids(draft_before))
        added = 0
        try:
            for test in check.available:
                await self._target.add_lab_test(test)
                added += 1
        except (InvalidInput, StoreError) as exc:
            self._bridge.known_error(
                exc,
                not_done=f"{added} of the panel's {len(check.available)} tests were added.",
            )
            return added > 0
        if self._current_draft.current != draft_before:
            on_it_before = set()  # a new draft (or another one: the current was checked out)
        already = sum(test.id in on_it_before for test in check.available)
        tests = tests_count(added)
        if already:
            tests += f", {already} of them on it already"
        text = (
            f"Added the panel “{panel.name}” to the current draft ({tests})."
            if added
            else f"Nothing of the panel “{panel.name}” was added."
        )
        notes = check.notes()
        if notes:
            self._bridge.warning(" ".join([text, *notes]))
        else:
            self._bridge.info(text)
        return added > 0

    # -- sharing -------------------------------------------------------------------------------

    async def export_to(self, path: Path) -> bool:
        """Write every panel to the file `path` (for another computer of the clinic)."""
        panels = self._panels.all()
        try:
            await asyncio.to_thread(_write_text, path, export_panels(panels))
        except OSError as exc:
            self._bridge.error(
                f"The panels were not exported: {exc.strerror or exc}. Choose another folder "
                "and try again."
            )
            return False
        count = "1 panel" if len(panels) == 1 else f"{len(panels)} panels"
        self._bridge.info(f"Exported {count} to {path.name}.")
        return True

    async def import_from(self, path: Path) -> bool:
        """Read a panels file and save its panels (a panel of the same name is replaced)."""
        try:
            data = await asyncio.to_thread(_read_head, path)
        except OSError as exc:
            self._bridge.error(f"The file could not be read: {exc.strerror or exc}.")
            return False
        try:
            result = self._panels.import_panels(read_panels_file(data))
        except (PanelFileError, InvalidInput) as exc:
            self._bridge.known_error(exc, level=Level.WARNING)
            return False
        except StoreError as exc:
            self._bridge.known_error(exc, not_done="No panel was imported.")
            return False
        self.panels_changed.emit()
        parts = []
        if result.added:
            parts.append(f"added {_names(result.added)}")
        if result.replaced:
            parts.append(f"updated {_names(result.replaced)}")
        self._bridge.info(
            "Imported the panels: " + "; ".join(parts) + "."
            if parts
            else "The file holds no panels."
        )
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _create(self, tests: list[PanelTest]) -> Panel | None:
        name = self._free_name()
        try:
            panel = self._panels.create(name, tests)
        except (InvalidInput, StoreError) as exc:
            self._bridge.known_error(exc, not_done="The panel was not saved.")
            return None
        self.panels_changed.emit()
        self.set_current(panel.id)
        count = tests_count(len(panel.tests))
        self._bridge.info(f"Saved the panel “{panel.name}” ({count}): give it a name in Panels.")
        return panel

    def _draft_test_ids(self, draft_id: str | None) -> list[str]:
        if draft_id is None:
            return []
        try:
            return [test.lab_test_id for test in self._drafts.tests(draft_id)]
        except UnknownDraftError:
            return []

    def _free_name(self) -> str:
        taken = {panel.name.casefold() for panel in self._panels.all()}
        number = 1
        name = NEW_PANEL_NAME
        while name.casefold() in taken:
            number += 1
            name = f"{NEW_PANEL_NAME} {number}"
        return name

    def _panel_test(self, test: DraftTest) -> PanelTest:
        """A draft's test as a panel keeps it: the catalog's details, else the draft's."""
        try:
            return PanelTest.of(self._catalog.get_test(test.lab_test_id))
        except UnknownLabTestError:
            return PanelTest(
                test.lab_test_id, test.name or "A test no longer listed", "", test.price
            )


def _read_head(path: Path) -> bytes:
    """The file's bytes, up to one more than a panels file may hold (a huge file chosen by
    mistake is refused as too large without being read whole)."""
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"“{name}”" for name in names)
