"""What the window's commands do in a signed-in account's panes (new order, send, check out…).

The main window owns the command table and its shortcuts (`rupa_desk.ui.commands`) but knows
nothing of the panes; at sign-in the composition root gives it `WorkspaceCommands.handlers()`.
Each handler brings its pane forward and does the step the way the pane's own button does
(the button's click, so what the pane checks first is checked), or puts the focus where the
next key is typed. A step that cannot be done now says why in the status bar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QWidget

from rupa_desk.ui import commands
from rupa_desk.ui.messages import MessageBridge

if TYPE_CHECKING:
    from rupa_desk.ui.account_workspace import AccountWorkspace
    from rupa_desk.ui.pages.catalog import CatalogPage
    from rupa_desk.ui.pages.drafts import DraftsPage
    from rupa_desk.ui.pages.patients import PatientsPage

P = TypeVar("P", bound=QWidget)


class PaneWindow(Protocol):
    """The main window as the commands use it."""

    def show_pane(self, key: str) -> None: ...

    def pane(self, key: str) -> QWidget: ...


class WorkspaceCommands:
    """The account's side of the window's commands.

    Args:
        workspace: the signed-in account (its presenters and pane widgets).
        window: the main window (to bring a pane forward).
        bridge: messages to the user (why a step cannot be done now).
    """

    def __init__(
        self, workspace: AccountWorkspace, window: PaneWindow, bridge: MessageBridge
    ) -> None:
        self._workspace = workspace
        self._window = window
        self._bridge = bridge

    def handlers(self) -> dict[str, Callable[[], object]]:
        """The handler of each account command the panes shown can do."""
        keys = set(self._workspace.panes)
        handlers: dict[str, Callable[[], object]] = {}
        if "patients" in keys:
            handlers[commands.NEW_PATIENT] = self.new_patient
        if "drafts" in keys:
            handlers[commands.NEW_ORDER] = self.new_order
            handlers[commands.SEND] = self.send
            handlers[commands.CHECK_OUT] = self.check_out
            handlers[commands.CHECK_OUT_IN_BROWSER] = self.check_out_in_browser
        if "catalog" in keys:
            handlers[commands.ADD_TEST] = self.add_test
        return handlers

    # -- panes ---------------------------------------------------------------------------------

    def _patients(self) -> PatientsPage:
        from rupa_desk.ui.pages.patients import PatientsPage

        return self._page("patients", PatientsPage)

    def _catalog(self) -> CatalogPage:
        from rupa_desk.ui.pages.catalog import CatalogPage

        return self._page("catalog", CatalogPage)

    def _drafts(self) -> DraftsPage:
        from rupa_desk.ui.pages.drafts import DraftsPage

        return self._page("drafts", DraftsPage)

    def _page(self, key: str, kind: type[P]) -> P:
        page = self._workspace.panes[key]
        if not isinstance(page, kind):
            raise TypeError(f"the {key} pane is a {type(page).__name__}, not a {kind.__name__}")
        self._window.show_pane(key)
        return page

    # -- the commands ----------------------------------------------------------------------------

    def new_patient(self) -> None:
        """Patients pane, the new-patient form, the focus in its first field."""
        self._patients().new_button.click()

    def new_order(self) -> None:
        """A new draft in the Draft orders pane; the focus where its next field is typed: the
        patient search when it has no patient yet, else the test search."""
        page = self._drafts()
        page.new_button.click()
        editor = page.editor
        draft_id = editor.draft_id
        has_patient = False
        if draft_id is not None:
            draft = self._workspace.orders.drafts.listing_of(draft_id).draft
            has_patient = draft.patient_id is not None
        target = editor.test_search if has_patient else editor.patient_search
        if target.isEnabled():
            target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def add_test(self) -> None:
        """The Catalog pane with its search box focused (its text selected: type over it)."""
        box = self._catalog().search_box
        box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        box.selectAll()

    def send(self) -> None:
        """Send the current draft (the Draft orders pane shows what happens)."""
        editor = self._drafts().editor
        self._click(editor.send_button, "Choose a draft with a patient and tests to send.")

    def check_out(self) -> None:
        """Open Rupa's checkout for the current draft."""
        editor = self._drafts().editor
        self._click(editor.checkout_button, "Send the draft to Rupa first; then check it out.")

    def check_out_in_browser(self) -> None:
        """Open the current draft's checkout in the system browser."""
        editor = self._drafts().editor
        self._click(editor.browser_button, "Send the draft to Rupa first; then check it out.")

    def _click(self, button: QAbstractButton, why_not: str) -> None:
        if button.isEnabled():
            button.click()
        else:
            self._bridge.info(why_not)
