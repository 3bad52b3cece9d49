"""The known-error family: failures the person at the desk can act on.

Rupa Desk splits every failure in two (DESIGN.md, "Errors"):

- A **known error** is environmental or a refused input: offline, a 401, a full disk, a
  locked keychain, a field typed wrong, an action the draft's state does not allow. It is a
  `KnownError`, whose `user_message` says what happened and what to do next. The UI turns it
  into a message through one helper (`rupa_desk.ui.messages.MessageBridge.known_error`), so
  every message reads alike.
- Anything else is a **bug**: a plain exception (`ValueError`, `KeyError`, an
  `AssertionError` of a broken invariant) that nobody catches on its way to the bug reporter,
  which logs it with its traceback and shows it as a bug.

Hierarchy (what callers catch):

    KnownError
      InvalidInput          what the person typed or chose was refused (fields, ports, notes)
      ActionNotAllowed      the action does not fit the thing's state (a sent draft, …)
      RupaError             talking to Rupa (rupa_desk.services.errors)
      StoreError            the local database (rupa_desk.services.store.errors)
      SettingsError         the settings file or a settings value (rupa_desk.settings)

Messages never carry a token; they may name what the person typed (never logged: the
message bridge does not log texts, and `str(error)` of the Rupa errors that quote a server's
words is overridden to name fields only).
"""

from __future__ import annotations

from typing import ClassVar


class KnownError(Exception):
    """A known failure, with a message for the person at the desk.

    Args:
        user_message: what happened; the class's `default_message` when None.
        next_step: what to do next, appended to the message; the class's `next_step` when
            None ("" for none: the message already says it).

    Attributes:
        user_message: one or two plain sentences: what happened, then what to do next.
        next_step: the "what to do next" part alone ("" when the message has it built in).
    """

    default_message: ClassVar[str] = "Something did not work. Try again."
    next_step: str = ""

    def __init__(self, user_message: str | None = None, *, next_step: str | None = None) -> None:
        if next_step is not None:
            self.next_step = next_step
        what = user_message or self.default_message
        self.user_message = f"{what} {self.next_step}" if self.next_step else what
        super().__init__(self.user_message)


class InvalidInput(KnownError):
    """What the person typed or chose was refused by a check (before saving or sending)."""

    default_message = "This value is not valid. Correct it and try again."


class ActionNotAllowed(KnownError):
    """The action does not fit the current state of what it acts on (e.g. a sent draft)."""

    default_message = "This cannot be done now."
