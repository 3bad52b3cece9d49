"""Typed errors of talking to Epic, each a `KnownError` with a message and a next step.

The Epic client runs on the same transport and sign-in flow as Rupa's, whose errors name Rupa;
`epic_errors()` turns each into its Epic counterpart at the boundary, so the person at the
desk reads which system had the problem. None carries a token or patient data; `str()` of an
error that quotes Epic's diagnostics names none of them (they may echo what was searched).

    EpicError
      EpicNotConnected        no Epic session: connect
        EpicSessionEnded      the session ended (token expired without refresh, or refused)
      EpicConnectFailed       the browser sign-in did not finish (`cause` says how)
      EpicForbidden           403: the scopes or the user's rights do not allow it
      EpicNotFound            404
      (both keep Epic's OperationOutcome diagnostics, and say what was asked for)
      EpicRejected            400/422 and other 4xx, with Epic's diagnostics
      EpicBusy                429 after the retries
      EpicUnavailable         5xx, timeouts, dropped connections
        EpicOffline           could not connect (nothing was sent)
      EpicOutcomeUnknown      a create whose answer was lost: look before creating again
      EpicAnswerUnreadable    not FHIR, or not what was expected
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

from rupa_desk.core.errors import KnownError
from rupa_desk.services import errors as rupa


class EpicError(KnownError):
    """A known failure talking to Epic.

    Attributes:
        cause: the transport's or sign-in's error it stands for, when there was one.
    """

    default_message = "Something went wrong talking to Epic. Try again."
    cause: KnownError | None = None


class EpicNotConnected(EpicError):
    """There is no Epic session."""

    default_message = "Rupa Desk is not connected to Epic. Connect to Epic to continue."


class EpicSessionEnded(EpicNotConnected):
    """The Epic session ended: its access token expired (Epic gave no refresh token) or Epic
    refused the refresh token."""

    default_message = "Your Epic session has ended. Connect to Epic again to continue."


class EpicConnectFailed(EpicError):
    """Connecting to Epic in the browser did not finish."""

    default_message = "Connecting to Epic did not finish. Try again."


#: The most of Epic's own words a message on screen quotes (for the clinic's IT).
SHOWN_DIAGNOSTICS_LENGTH: Final = 160


def _for_it(diagnostics: tuple[str, ...]) -> str:
    """Epic's first explanation, quoted for the clinic's IT ("" when it gave none)."""
    if not diagnostics:
        return ""
    said = diagnostics[0]
    if len(said) > SHOWN_DIAGNOSTICS_LENGTH:
        said = said[: SHOWN_DIAGNOSTICS_LENGTH - 1].rstrip() + "…"
    return f" (Epic's words, for your IT: “{said}”)"


class EpicForbidden(EpicError):
    """Epic refused the action for this user or app (403).

    Args:
        diagnostics: what Epic's OperationOutcome said (checked, shortened, no secrets).
        access: what was asked for, in the desk's words ("the day's schedule"); "" unknown.

    Attributes:
        diagnostics, access: as given.
    """

    def __init__(self, diagnostics: tuple[str, ...] = (), *, access: str = "") -> None:
        self.diagnostics = diagnostics
        self.access = access
        what = access or "this"
        super().__init__(
            f"Epic did not allow this: your Epic account may lack access to {what}. Ask your "
            f"clinic's IT to give it that access, then try again.{_for_it(diagnostics)}"
        )

    def __str__(self) -> str:
        """The status only: Epic's diagnostics may quote what was asked."""
        return "Epic refused the request (HTTP 403)."


class EpicNotFound(EpicError):
    """Epic has no such record (404).

    Args:
        diagnostics: what Epic's OperationOutcome said (checked, shortened, no secrets).
        missing: the record asked for, in the desk's words ("this patient"); "" when the
            request was not for one record.

    Attributes:
        diagnostics, missing: as given.
    """

    def __init__(self, diagnostics: tuple[str, ...] = (), *, missing: str = "") -> None:
        self.diagnostics = diagnostics
        self.missing = missing
        if missing:
            message = (
                f"Epic could not find {missing}: the record may have been merged with another "
                "or removed. Search for the patient again in Find in Epic."
            )
        else:
            message = (
                "Epic could not find what Rupa Desk asked for. If it keeps happening, ask your "
                "clinic's IT to check the Epic FHIR address in Settings."
            )
        super().__init__(message + _for_it(diagnostics))

    def __str__(self) -> str:
        """The status only: Epic's diagnostics may quote what was asked."""
        return "Epic could not find what was asked for (HTTP 404)."


class EpicRejected(EpicError):
    """Epic did not accept the request (400, 422 or another 4xx).

    Attributes:
        diagnostics: what Epic's OperationOutcome said, if anything.
    """

    def __init__(self, diagnostics: tuple[str, ...] = (), *, status: int | None = None) -> None:
        self.diagnostics = diagnostics
        self.status = status
        said = f" Epic said: {' '.join(diagnostics)}" if diagnostics else ""
        super().__init__(f"Epic did not accept this request.{said} Check it and try again.")

    def __str__(self) -> str:
        """The status only: Epic's diagnostics may quote what was searched or sent."""
        return f"Epic did not accept the request (HTTP {self.status or 'unknown'})."


class EpicBusy(EpicError):
    """Epic asked Rupa Desk to slow down (429), still after the retries.

    Attributes:
        retry_after: seconds Epic asked to wait.
    """

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        seconds = max(1, round(retry_after))
        unit = "second" if seconds == 1 else "seconds"
        super().__init__(f"Epic is busy. Try again in {seconds} {unit}.")


class EpicUnavailable(EpicError):
    """Epic did not answer, or had a problem of its own (5xx), still after the retries."""

    default_message = "Epic did not answer properly. Try again in a few minutes."


class EpicOffline(EpicUnavailable):
    """Rupa Desk could not connect to Epic; nothing was sent."""

    default_message = "Rupa Desk cannot reach Epic. Check the internet connection and try again."


class EpicOutcomeUnknown(EpicError):
    """A create reached Epic but its answer was lost: it may or may not exist there."""

    default_message = (
        "The connection broke while sending this to Epic, so it is not known whether it "
        "arrived. Rupa Desk checks with Epic before sending it again."
    )


class EpicAnswerUnreadable(EpicError):
    """Epic's answer was not the FHIR Rupa Desk expected."""

    default_message = (
        "Epic sent an answer Rupa Desk does not understand. Try again; if it keeps "
        "happening, tell your administrator."
    )


def epic_error(exc: KnownError, *, access: str = "", missing: str = "") -> EpicError:
    """The Epic error that stands for `exc`, an error of the transport or the sign-in.

    Args:
        exc: the error.
        access: what the request needs access to, in the desk's words (said by a 403).
        missing: the one record it asked for, in the desk's words (said by a 404).
    """
    if isinstance(exc, EpicError):
        return exc
    translated = _translated(exc, access, missing)
    translated.cause = exc
    return translated


def _translated(exc: KnownError, access: str, missing: str) -> EpicError:
    if isinstance(exc, rupa.SessionExpired):
        return EpicSessionEnded()
    if isinstance(exc, rupa.NotSignedIn):
        return EpicNotConnected()
    if isinstance(exc, rupa.SignInFailed):
        return EpicConnectFailed(
            "Epic refused the connection. Check the Epic client id and address in Settings; "
            "if they are right, try again later."
        )
    if isinstance(exc, rupa.SignInServerMoved):
        return EpicConnectFailed(
            "Epic's sign-in server answered with a redirect. Check the Epic FHIR address in "
            "Settings."
        )
    if isinstance(exc, rupa.SignInError):  # denied, timed out, cancelled, mix-up, no port
        return EpicConnectFailed(exc.user_message.replace("Sign-in", "Connecting to Epic"))
    if isinstance(exc, rupa.Forbidden):
        return EpicForbidden(exc.details, access=access)
    if isinstance(exc, rupa.NotFound):
        return EpicNotFound(exc.details, missing=missing)
    if isinstance(exc, rupa.ValidationFailed):
        return EpicRejected(exc.general_errors, status=exc.status)
    if isinstance(exc, rupa.RequestRejected):
        return EpicRejected(status=exc.status)
    if isinstance(exc, rupa.RateLimited):
        return EpicBusy(exc.retry_after)
    if isinstance(exc, rupa.Offline):
        return EpicOffline()
    if isinstance(exc, rupa.NetworkError | rupa.ServerError):
        return EpicUnavailable()
    if isinstance(exc, rupa.OutcomeUnknown):
        return EpicOutcomeUnknown()
    if isinstance(exc, rupa.MalformedResponse):
        return EpicAnswerUnreadable()
    return EpicError(exc.user_message)  # the keychain, the session lock: not Rupa-specific


@contextlib.contextmanager
def epic_errors(access: str = "", missing: str = "") -> Iterator[None]:
    """Raise the Epic counterpart of any known error raised inside.

    Args:
        access: what the requests inside need access to, in the desk's words ("the
            schedule"): a 403 says the Epic account may lack it.
        missing: the one record they ask for ("this patient"): a 404 says it was not found.
    """
    try:
        yield
    except EpicError:
        raise
    except KnownError as exc:
        raise epic_error(exc, access=access, missing=missing) from exc
