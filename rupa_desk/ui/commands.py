"""The window's commands, in one table: menus, shortcuts, tooltips and Help are built from it.

Each `Command` is one step a receptionist takes (new order, add a test, send, check out, the
next pane…) with its keys and the menu it sits in. The main window makes one `QAction` per
command from `COMMANDS` (and one per pane, `pane_command`); Help › Keyboard shortcuts and the
command palette list those same actions, so what they show is what is bound. What a command
does in a signed-in account's panes is given later (`MainWindow.set_command_handlers`):
this module is read before the first paint and imports nothing heavy.

Keys are `QKeySequence` strings ("Ctrl" is Cmd on macOS). They must not clash with a key a
pane binds for itself (Ctrl+F searches the pane shown, Ctrl+Enter is the patients list's):
two bindings of one key in one window cancel each other out. A text field keeps the keys it
edits with (on Linux desktops Ctrl+K deletes to the end of the line), so Go to… has Ctrl+G too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Command:
    """One command of the main window.

    Attributes:
        key: a stable name ("send").
        title: the menu text, with an "&" before its menu mnemonic ("&Send to Rupa").
        keys: its shortcuts, the first one shown in menus and tooltips ("Ctrl+Shift+S").
        menu: the menu it is in ("Order", "View", "Help", "File").
        tip: what it does, in a sentence for a tooltip and the Help view.
        account: True when it needs a signed-in account (disabled at the sign-in page).
    """

    key: str
    title: str
    keys: tuple[str, ...]
    menu: str
    tip: str
    account: bool = True

    @property
    def label(self) -> str:
        """The title without its mnemonic marker ("Send to Rupa")."""
        return self.title.replace("&", "")


#: The menus in menu-bar order.
MENUS: Final = ("File", "Order", "View", "Help")

NEW_PATIENT: Final = "new_patient"
NEW_ORDER: Final = "new_order"
ADD_TEST: Final = "add_test"
SEND: Final = "send"
CHECK_OUT: Final = "check_out"
CHECK_OUT_IN_BROWSER: Final = "check_out_in_browser"
GO_TO: Final = "go_to"
NEXT_PANE: Final = "next_pane"
PREVIOUS_PANE: Final = "previous_pane"
KEYBOARD_SHORTCUTS: Final = "keyboard_shortcuts"
SETTINGS: Final = "settings"
SIGN_OUT: Final = "sign_out"
QUIT: Final = "quit"

COMMANDS: Final[tuple[Command, ...]] = (
    Command(SETTINGS, "&Settings…", ("Ctrl+,",), "File", "Change the environment, polling…", False),
    Command(SIGN_OUT, "Sign &out…", (), "File", "Sign out of Rupa on this computer"),
    Command(QUIT, "&Quit", ("Ctrl+Q",), "File", "Close Rupa Desk", False),
    Command(NEW_PATIENT, "New &patient", ("Ctrl+N",), "Order", "Add a patient to Rupa"),
    Command(
        NEW_ORDER,
        "&New order",
        ("Ctrl+Shift+N",),
        "Order",
        "Start a draft order (for the selected patient, when one is)",
    ),
    Command(ADD_TEST, "&Add a test", ("Ctrl+T",), "Order", "Search the catalog for a test to add"),
    Command(SEND, "&Send to Rupa", ("Ctrl+Shift+S",), "Order", "Send the current draft to Rupa"),
    Command(
        CHECK_OUT,
        "&Check out",
        ("Ctrl+Shift+C",),
        "Order",
        "Open Rupa's checkout for the current draft (sent first if it was not yet)",
    ),
    Command(
        CHECK_OUT_IN_BROWSER,
        "Check out in the &browser",
        ("Ctrl+Shift+B",),
        "Order",
        "Open the current draft's checkout in the system browser",
    ),
    Command(
        GO_TO,
        "&Go to…",
        ("Ctrl+K", "Ctrl+G"),
        "View",
        "Find a patient, test, draft, order or command by typing",
    ),
    Command(NEXT_PANE, "Ne&xt pane", ("Ctrl+PgDown", "Ctrl+Tab"), "View", "Show the pane below"),
    Command(
        PREVIOUS_PANE,
        "P&revious pane",
        ("Ctrl+PgUp", "Ctrl+Shift+Tab"),
        "View",
        "Show the pane above",
    ),
    Command(
        KEYBOARD_SHORTCUTS,
        "&Keyboard shortcuts",
        ("F1",),
        "Help",
        "List every command and its keys",
        False,
    ),
)


def pane_command(number: int, key: str, title: str) -> Command:
    """The View menu's command that shows a pane (Ctrl+1 to Ctrl+9 for the first nine)."""
    keys = (f"Ctrl+{number}",) if number <= 9 else ()
    return Command(f"pane:{key}", title, keys, "View", f"Show the {title} pane")


def command(key: str) -> Command:
    """The command `key` of `COMMANDS`.

    Raises:
        KeyError: there is no such command.
    """
    for found in COMMANDS:
        if found.key == key:
            return found
    raise KeyError(key)
