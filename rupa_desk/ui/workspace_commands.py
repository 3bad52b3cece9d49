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
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QPlainTextEdit, QWidget

from rupa_desk.core.models import Patient
from rupa_desk.services.store import DraftListing, OrderRow, SearchHit
from rupa_desk.ui import commands
from rupa_desk.ui.command_palette import (
    CommandPalette,
    CommandSource,
    DraftSource,
    OrderSource,
    PaletteSource,
    catalog_source,
    patient_source,
)
from rupa_desk.ui.commands import Command
from rupa_desk.ui.messages import MessageBridge

if TYPE_CHECKING:
    from rupa_desk.ui.account_workspace import AccountWorkspace
    from rupa_desk.ui.pages.catalog import CatalogPage
    from rupa_desk.ui.pages.drafts import DraftsPage
    from rupa_desk.ui.pages.orders import OrdersPage
    from rupa_desk.ui.pages.patients import PatientsPage

P = TypeVar("P", bound=QWidget)


class PaneWindow(Protocol):
    """The main window as the commands use it."""

    def show_pane(self, key: str) -> None: ...

    @property
    def commands(self) -> list[tuple[Command, QAction]]: ...


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
        self.palette: CommandPalette | None = None
        self._show_keys_on_buttons()
        self._let_tab_leave_text_fields()

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
        if isinstance(self._window, QWidget):
            handlers[commands.GO_TO] = self.go_to
        return handlers

    def _show_keys_on_buttons(self) -> None:
        """The panes' buttons for a command say its key in their tooltips ("Send the current
        draft to Rupa (Ctrl+Shift+S)"), as the menus do."""
        panes = self._workspace.panes
        buttons: list[tuple[str, str, str]] = [
            ("patients", "new_button", commands.NEW_PATIENT),
            ("drafts", "new_button", commands.NEW_ORDER),
        ]
        for key, name, command_key in buttons:
            button = getattr(panes.get(key), name, None)
            if isinstance(button, QAbstractButton):
                _show_keys(button, commands.command(command_key))
        editor = getattr(panes.get("drafts"), "editor", None)
        for name, command_key in (
            ("send_button", commands.SEND),
            ("checkout_button", commands.CHECK_OUT),
            ("browser_button", commands.CHECK_OUT_IN_BROWSER),
        ):
            button = getattr(editor, name, None)
            if isinstance(button, QAbstractButton):
                _show_keys(button, commands.command(command_key))

    def _let_tab_leave_text_fields(self) -> None:
        """Tab moves on from the panes' multi-line fields (a draft's notes…) instead of typing
        a tab character into them: a receptionist tabs through a form and would be trapped."""
        for page in self._workspace.panes.values():
            for field in page.findChildren(QPlainTextEdit):
                field.setTabChangesFocus(True)

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

    def _orders(self) -> OrdersPage:
        from rupa_desk.ui.pages.orders import OrdersPage

        return self._page("orders", OrdersPage)

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
        """Open Rupa's checkout for the current draft; one never sent is sent first (the
        draft's "Send and check out")."""
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

    # -- the command palette -----------------------------------------------------------------

    def palette_sources(self) -> list[PaletteSource]:
        """The palette's sources: the local database's patients, tests, drafts and orders,
        and the window's commands (a new kind is one more source here)."""
        from rupa_desk.ui.presenters.drafts import describe_state

        workspace = self._workspace
        store = workspace.store
        keys = set(workspace.panes)
        sources: list[PaletteSource] = []
        if "patients" in keys:
            sources.append(
                patient_source(lambda t, n: store.patients.search(t, limit=n), self.open_patient)
            )
        if "catalog" in keys:
            sources.append(
                catalog_source(lambda t, n: store.catalog.search(t, limit=n).hits, self.open_test)
            )
        if "drafts" in keys:
            drafts = workspace.orders.drafts
            sources.append(
                DraftSource(drafts.listing, self.open_draft, lambda d: describe_state(d.draft))
            )
        if "orders" in keys:
            sources.append(OrderSource(store.orders.listing, self.open_order))
        sources.append(CommandSource(lambda: self._window.commands, skip=commands.GO_TO))
        return sources

    def go_to(self) -> None:
        """Open the command palette over the window."""
        window = self._window
        if not isinstance(window, QWidget):
            return
        if self.palette is not None:
            self.palette.close()
        palette = CommandPalette(self.palette_sources(), window)
        palette.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        palette.destroyed.connect(self._on_palette_destroyed)
        palette.finished.connect(self._on_palette_finished)
        self.palette = palette
        palette.open()
        palette.search.setFocus(Qt.FocusReason.PopupFocusReason)

    def _on_palette_destroyed(self) -> None:
        self.palette = None

    def _on_palette_finished(self, result: int) -> None:
        if isinstance(self._window, QWidget):
            self._window.activateWindow()  # the keys go back to the window, where it opened

    def close(self) -> None:
        """Close the palette (the account is closing)."""
        if self.palette is not None:
            self.palette.close()

    def open_patient(self, patient: Patient) -> None:
        """The Patients pane, listing her (searched by name), selected, her detail shown."""
        page = self._patients()
        page.search_box.setText(patient.full_name)
        self._workspace.tasks.spawn(self._show_patient(page, patient), name="go-to-patient")

    async def _show_patient(self, page: PatientsPage, patient: Patient) -> None:
        await self._workspace.patients.search(patient.full_name)
        page.select_patient(patient.id)
        if page.selected_patient_id() == patient.id:
            page.table.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            await self._workspace.patients.show_detail(patient.id)

    def open_test(self, hit: SearchHit) -> None:
        """The Catalog pane, searched for the test's name, its row (this lab's) selected."""
        page = self._catalog()
        page.search_box.setText(hit.name)
        self._workspace.tasks.spawn(self._show_test(page, hit), name="go-to-test")

    async def _show_test(self, page: CatalogPage, hit: SearchHit) -> None:
        presenter = self._workspace.catalog
        await presenter.search(hit.name)
        model = presenter.model
        for row in range(model.rowCount()):
            if model.hit(row).id == hit.id:
                page.table.setFocus(Qt.FocusReason.OtherFocusReason)
                page.table.selectRow(row)
                return

    def open_draft(self, listing: DraftListing) -> None:
        """The Draft orders pane with the draft in the editor."""
        page = self._drafts()
        self._workspace.orders.drafts.set_current(listing.draft.id)
        page.drafts.setFocus(Qt.FocusReason.OtherFocusReason)

    def open_order(self, row: OrderRow) -> None:
        """The Orders pane with the order shown (and selected when the filters list it)."""
        page = self._orders()
        if page.row_of(row.id) < 0 and not page.whole_clinic.isChecked():
            page.whole_clinic.setChecked(True)  # another practitioner's order
        self._workspace.tasks.spawn(self._show_order(page, row), name="go-to-order")

    async def _show_order(self, page: OrdersPage, row: OrderRow) -> None:
        await self._workspace.orders.orders.open_order(row.id)
        page.refresh()  # selects it (the current order) when the filters list it


def _show_keys(button: QAbstractButton, command: Command) -> None:
    keys = QKeySequence(command.keys[0]).toString(QKeySequence.SequenceFormat.NativeText)
    button.setToolTip(f"{command.tip} ({keys})")
