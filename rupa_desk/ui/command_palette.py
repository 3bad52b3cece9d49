"""The command palette (Ctrl+K): jump to a patient, test, draft or order, or run a command, by
typing a few letters.

A small dialog: a search field over a list. Every key asks each source for what matches;
sources read the local database only (no network: it answers offline, within the keystroke).
Up and Down move in the list, Enter opens the entry, Escape closes. Entries show names, never
ids.

Sources are pluggable: a `PaletteSource` is anything with a `kind` and a `find(text, limit)`
that returns `PaletteEntry`s, each with what to do when chosen. The sources here take plain
functions (a store's search, what opening means), so a new kind (saved panels, say) is a
class of a few lines given to the palette beside the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, Protocol, TypeVar

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rupa_desk.core.models import Patient
from rupa_desk.services.store import DraftListing, OrderRow, SearchHit
from rupa_desk.ui.commands import Command
from rupa_desk.ui.formatting import money, when

#: How many entries each source shows at most.
PER_SOURCE = 6
NOTHING_FOUND = "Nothing matches. Try fewer letters, or another name."
HINT = "Type a patient, test, draft, order or command; Enter opens it, Esc closes."
#: How far each key moves in the list.
_STEPS = {
    int(Qt.Key.Key_Down): 1,
    int(Qt.Key.Key_Up): -1,
    int(Qt.Key.Key_PageDown): 5,
    int(Qt.Key.Key_PageUp): -5,
}


@dataclass(frozen=True)
class PaletteEntry:
    """One line of the palette.

    Attributes:
        kind: what it is, as the list shows it ("Patient", "Test", "Command").
        title: its name ("Ada Lovelace").
        detail: what tells it apart from another of the same name (an email, a lab, a key).
        open: what choosing it does (show it in its pane, run the command).
    """

    kind: str
    title: str
    detail: str
    open: Callable[[], object]

    @property
    def text(self) -> str:
        """The line as the list shows it."""
        return f"{self.kind} · {self.title}" + (f" — {self.detail}" if self.detail else "")


class PaletteSource(Protocol):
    """Where the palette's entries of one kind come from."""

    kind: str

    def find(self, text: str, limit: int) -> Sequence[PaletteEntry]:
        """At most `limit` entries matching `text` (never empty text), best first."""
        ...


def words_match(text: str, *fields: str) -> bool:
    """True when every word of `text` is found in one of `fields` (ignoring case)."""
    haystack = " ".join(fields).casefold()
    return all(word in haystack for word in text.casefold().split())


T = TypeVar("T")


class SearchSource(Generic[T]):
    """Entries found by a search of the local database (patients, catalog tests): its own
    ranking, at most `limit`; each shown with its title and detail, opened with `open`."""

    def __init__(
        self,
        kind: str,
        search: Callable[[str, int], Sequence[T]],
        title: Callable[[T], str],
        detail: Callable[[T], str],
        open: Callable[[T], object],
    ) -> None:
        self.kind = kind
        self._search = search
        self._title = title
        self._detail = detail
        self._open = open

    def find(self, text: str, limit: int) -> list[PaletteEntry]:
        return [
            PaletteEntry(
                self.kind, self._title(item), self._detail(item), partial(self._open, item)
            )
            for item in self._search(text, limit)[:limit]
        ]


def patient_source(
    search: Callable[[str, int], Sequence[Patient]], open: Callable[[Patient], object]
) -> SearchSource[Patient]:
    """Patients cached on this computer, found by name, email or birthday."""
    return SearchSource(
        "Patient",
        search,
        lambda patient: patient.full_name,
        lambda patient: (
            patient.email + (f" · born {patient.birthday.isoformat()}" if patient.birthday else "")
        ),
        open,
    )


def catalog_source(
    search: Callable[[str, int], Sequence[SearchHit]], open: Callable[[SearchHit], object]
) -> SearchSource[SearchHit]:
    """Tests of the local catalog, with their lab and price (one test, many labs)."""
    return SearchSource(
        "Test",
        search,
        lambda hit: hit.name,
        lambda hit: " · ".join(
            part for part in (hit.lab_company_name, money(hit.price) if hit.price else "") if part
        ),
        open,
    )


class DraftSource:
    """Draft orders, found by their patient's name or their tests.

    The drafts are read once, at the first key (a palette is open for a few keys, over a
    modal dialog: they do not change meanwhile), then matched at each key.
    """

    kind = "Draft"

    def __init__(
        self,
        listing: Callable[[], Iterable[DraftListing]],
        open: Callable[[DraftListing], object],
        describe: Callable[[DraftListing], str],
    ) -> None:
        self._listing = listing
        self._read: list[DraftListing] | None = None
        self._open = open
        self._describe = describe

    def find(self, text: str, limit: int) -> list[PaletteEntry]:
        if self._read is None:
            self._read = list(self._listing())
        found: list[PaletteEntry] = []
        for listing in self._read:
            name = listing.patient_name or "No patient yet"
            tests = [line.name or "" for line in listing.lines]
            if not words_match(text, self.kind, name, *tests):
                continue
            count = f"{len(tests)} test" + ("" if len(tests) == 1 else "s")
            found.append(
                PaletteEntry(
                    self.kind,
                    f"Draft for {name}" if listing.patient_name else "Draft with no patient yet",
                    f"{count} · {self._describe(listing)}",
                    partial(self._open, listing),
                )
            )
            if len(found) >= limit:
                break
        return found


class OrderSource:
    """Orders saved on this computer, newest first, found by their patient's name or status.

    Read once, at the first key, like the drafts (`DraftSource`).
    """

    kind = "Order"

    def __init__(
        self, orders: Callable[[], Iterable[OrderRow]], open: Callable[[OrderRow], object]
    ) -> None:
        self._orders = orders
        self._read: list[OrderRow] | None = None
        self._open = open

    def find(self, text: str, limit: int) -> list[PaletteEntry]:
        if self._read is None:
            self._read = list(self._orders())
        found: list[PaletteEntry] = []
        for row in self._read:
            name = row.patient_name or "a patient not on this computer"
            if not words_match(text, self.kind, name, row.status):
                continue  # ids are not shown, so they are not searched either
            found.append(
                PaletteEntry(
                    self.kind,
                    f"Order for {name}",
                    f"{row.status} · submitted {when(row.date_submitted)}",
                    partial(self._open, row),
                )
            )
            if len(found) >= limit:
                break
        return found


class CommandSource:
    """The window's commands that can run now (New order, Send to Rupa, …), with their keys;
    the ordering steps first (the File menu's Quit is not what an empty palette offers)."""

    kind = "Command"

    def __init__(
        self,
        commands: Callable[[], Sequence[tuple[Command, QAction]]],
        skip: str = "",
        first: Sequence[str] = ("Order", "View"),
    ) -> None:
        self._commands = commands
        self._skip = skip
        self._first = list(first)

    def _rank(self, entry: tuple[Command, QAction]) -> int:
        menu = entry[0].menu
        return self._first.index(menu) if menu in self._first else len(self._first)

    def find(self, text: str, limit: int) -> list[PaletteEntry]:
        found: list[PaletteEntry] = []
        for command, action in sorted(self._commands(), key=self._rank):
            if command.key == self._skip or not action.isEnabled():
                continue
            if not words_match(text, command.label, command.tip):
                continue
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            found.append(PaletteEntry(self.kind, command.label, keys, action.trigger))
            if len(found) >= limit:
                break
        return found


class CommandPalette(QDialog):
    """The palette: a search field and the entries of every source that match.

    Args:
        sources: where entries come from, in the order their entries are listed.
        parent: the main window.
        per_source: how many entries each source lists at most.
    """

    def __init__(
        self,
        sources: Sequence[PaletteSource],
        parent: QWidget | None = None,
        *,
        per_source: int = PER_SOURCE,
    ) -> None:
        super().__init__(parent)
        self._sources = list(sources)
        self._per_source = per_source
        self._entries: list[PaletteEntry] = []
        self.chosen: PaletteEntry | None = None
        self.setWindowTitle("Go to")
        self.setAccessibleName("Go to")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Patient, test, draft, order or command")
        self.search.setAccessibleName("Go to: type a name")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setAccessibleName("Matches")
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay in the field
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.hint)
        self.resize(560, 380)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.results.itemActivated.connect(self._on_results_item_activated)
        self.results.itemClicked.connect(self._on_results_item_activated)
        self.search.installEventFilter(self)
        self._show("")

    @property
    def entries(self) -> list[PaletteEntry]:
        """The entries listed, in order."""
        return list(self._entries)

    def _show(self, text: str) -> None:
        self._entries = []
        for source in self._sources:
            if not text.strip() and source.kind != CommandSource.kind:
                continue  # nothing typed yet: only the commands
            self._entries += source.find(text, self._per_source)
        self.results.clear()
        for entry in self._entries:
            item = QListWidgetItem(entry.text)
            item.setToolTip(entry.text)
            self.results.addItem(item)
        if self._entries:
            self.results.setCurrentRow(0)
        self.hint.setText(HINT if self._entries or not text.strip() else NOTHING_FOUND)

    def _on_search_text_changed(self, text: str) -> None:
        self._show(text)

    def _on_search_return_pressed(self) -> None:
        self._open_row(self.results.currentRow())

    def _on_results_item_activated(self, item: QListWidgetItem) -> None:
        self._open_row(self.results.row(item))

    def _open_row(self, row: int) -> None:
        if not 0 <= row < len(self._entries):
            return
        self.chosen = self._entries[row]
        self.accept()  # closed first: what opens takes the focus
        self.chosen.open()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up, Down, PgUp and PgDown in the field move in the list."""
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and self._entries
        ):
            step = _STEPS.get(event.key())
            if step is not None:
                row = max(0, min(self.results.currentRow() + step, len(self._entries) - 1))
                self.results.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)
