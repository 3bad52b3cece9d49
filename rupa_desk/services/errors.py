"""Typed errors of the services that talk to Rupa: each one a known, environmental failure.

Every error is a `RupaError` (a `rupa_desk.core.errors.KnownError`) whose `user_message` is a
plain sentence for the person at the front desk, with a next step. `str(error)` is the same
sentence, so a log line or a message box never needs special handling. None of them carries
a token or patient data: messages name the kind of thing (a patient, an order), never its
contents.

Hierarchy (what callers catch; the root is `rupa_desk.core.errors.KnownError`):

    RupaError
      NotSignedIn                 no session: sign in
        SessionExpired            the session ended (revoked, expired): sign in again
      Forbidden                   403
      NotFound                    404
      ValidationFailed            400/422 with per-field messages
      RequestRejected             any other 4xx
      RateLimited                 429 (after the retries ran out), with the wait
      ServerError                 5xx (after the retries ran out)
      NetworkError                no answer
        Offline                   could not connect (nothing was sent)
        RequestTimeout            Rupa did not answer in time
        ConnectionDropped         the connection broke mid-request
      OutcomeUnknown              a create that may or may not have happened (order intents)
      MalformedResponse           an answer we cannot read
        EndlessPages              a list whose next links never end
        RefusedLink               a link Rupa Desk will not open (another origin, file://)
        NotAPdf                   a link that should give a PDF gave something else
      DownloadFailed              a result file could not be saved
        DiskFull                  ... because the disk is full
        FileTooLarge              ... because it is larger than Rupa Desk accepts
      SecretStoreUnavailable      the OS keychain refused
      SessionBusy                 another Rupa Desk process kept the session locked
      SignInServerMoved           the token/revoke URL answered with a redirect (settings)
      SignInError                 the browser sign-in did not finish
        AccessDenied, SignInTimedOut, SignInCancelled, NoFreePort, SignInFailed,
        IssuerMismatch (an answer with another attempt's state is not an error: it is
        refused in that browser tab and the real one awaited)
"""

from __future__ import annotations

from collections.abc import Mapping

from rupa_desk.core.errors import KnownError
from rupa_desk.core.validation import field_label


class RupaError(KnownError):
    """A known failure talking to Rupa, with a message for the user and a next step.

    Show `user_message`; `str(error)` is safe to log (no patient data, no tokens).

    Attributes:
        user_message: one or two plain sentences for the user.
        status: the HTTP status that caused it, when there was one.
    """

    default_message = "Something went wrong talking to Rupa. Try again."

    def __init__(self, user_message: str | None = None, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(user_message)


class NotSignedIn(RupaError):
    """There is no session: the user has to sign in."""

    default_message = "You are not signed in. Sign in with Rupa to continue."


class SessionExpired(NotSignedIn):
    """The session ended (refresh token revoked, expired or rotated away): sign in again."""

    default_message = "Your Rupa session has ended. Sign in again to continue."


class Forbidden(RupaError):
    """Rupa refused the action for this account (HTTP 403).

    Attributes:
        details: what the server said about it, when the transport reads refusals (checked,
            shortened, secrets removed; never shown as they are).
    """

    default_message = (
        "Rupa did not allow this for your account. Ask your clinic's Rupa admin for access."
    )

    def __init__(
        self,
        user_message: str | None = None,
        *,
        status: int | None = 403,
        details: tuple[str, ...] = (),
    ) -> None:
        self.details = details
        super().__init__(user_message, status=status)


class NotFound(RupaError):
    """The resource does not exist, or not for this account (HTTP 404).

    Attributes:
        details: as `Forbidden.details`.
    """

    default_message = "Rupa could not find this. It may have been removed; refresh and try again."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        status: int | None = 404,
        details: tuple[str, ...] = (),
    ) -> None:
        self.details = details
        super().__init__(user_message, status=status)


class ValidationFailed(RupaError):
    """Rupa did not accept what was sent (HTTP 400/422).

    Attributes:
        field_errors: messages per attribute name (from each error's `source.pointer`, e.g.
            `/data/attributes/email` → `email`; nested attributes joined with dots, e.g.
            `address.zip`; relationships by name, e.g. `patient`).
        general_errors: messages that name no attribute.
    """

    default_message = "Rupa did not accept this. Check the highlighted fields and try again."

    def __init__(
        self,
        field_errors: Mapping[str, tuple[str, ...]] | None = None,
        general_errors: tuple[str, ...] = (),
        *,
        status: int | None = 400,
    ) -> None:
        self.field_errors: dict[str, tuple[str, ...]] = dict(field_errors or {})
        self.general_errors = general_errors
        parts = [*general_errors]
        parts += [
            f"{_field_words(name)}: {' '.join(texts)}" for name, texts in self.field_errors.items()
        ]
        message = "Rupa did not accept this. " + " ".join(parts) if parts else None
        super().__init__(message, status=status)

    def __str__(self) -> str:
        """A summary naming the fields only: Rupa's messages may quote what was typed."""
        names = ", ".join(self.field_errors) or "none named"
        return f"Rupa did not accept the request (fields: {names})."


#: What a receptionist calls the parts of an order that Rupa may refuse.
_ORDER_FIELDS = {
    "lab_tests": "Tests",
    "patient": "Patient",
    "practitioner": "Practitioner",
    "notes_to_patient": "Note to the patient",
    "metadata": "Rupa Desk's reference",
    "return_url": "Return address",
}


def _field_words(name: str) -> str:
    """A field Rupa names, as the form or the draft calls it ("address.zip" → "ZIP code")."""
    last = name.rsplit(".", 1)[-1]
    return _ORDER_FIELDS.get(last) or field_label(last)


class RequestRejected(RupaError):
    """Rupa refused the request for a reason without a more specific type (another 4xx)."""

    default_message = "Rupa refused this request. Try again; if it keeps happening, report it."


class RateLimited(RupaError):
    """Too many requests (HTTP 429), still after the retries.

    Attributes:
        retry_after: seconds Rupa asked to wait before trying again.
    """

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        seconds = max(1, round(retry_after))
        unit = "second" if seconds == 1 else "seconds"
        super().__init__(f"Rupa is busy. Try again in {seconds} {unit}.", status=429)


class ServerError(RupaError):
    """Rupa had a problem of its own (HTTP 5xx), still after the retries."""

    def __init__(self, status: int) -> None:
        super().__init__(
            "Rupa had a problem on its side. Try again in a few minutes.", status=status
        )


class NetworkError(RupaError):
    """No answer from Rupa.

    Attributes:
        request_sent: False when the request surely never reached Rupa (it is then safe to
            send it again, even a create).
    """

    request_sent = True


class Offline(NetworkError):
    """Rupa Desk could not connect to Rupa: nothing was sent."""

    request_sent = False
    default_message = (
        "Rupa Desk cannot reach Rupa. Check the internet connection; your work is kept and "
        "you can send it when the connection is back."
    )


class RequestTimeout(NetworkError):
    """Rupa did not answer in time."""

    default_message = "Rupa did not answer in time. Check the connection and try again."


class ConnectionDropped(NetworkError):
    """The connection broke before Rupa's answer arrived."""

    default_message = "The connection to Rupa broke. Check the connection and try again."


class OutcomeUnknown(RupaError):
    """A create reached the network but its answer was lost: it may or may not exist on Rupa.

    Raised by `RupaClient.create_order_intent` instead of retrying blindly, so the outbox can
    look the intent up by its draft id (`RupaClient.order_intents_for_draft`) before creating
    it again.

    Attributes:
        cause: the failure that hid the outcome.
    """

    default_message = (
        "The connection broke while sending this to Rupa, so it is not known whether it "
        "arrived. Rupa Desk will check with Rupa before sending it again."
    )

    def __init__(self, cause: RupaError) -> None:
        self.cause = cause
        super().__init__(status=cause.status)


class MalformedResponse(RupaError):
    """Rupa's answer could not be read (not JSON, or not the JSON:API shape expected)."""

    default_message = (
        "Rupa sent an answer Rupa Desk does not understand. Try again; if it keeps "
        "happening, report it."
    )


class EndlessPages(MalformedResponse):
    """A list's next links never ended: one came back, or there were more pages than the
    list said it had. Reading it was stopped instead of looping."""

    default_message = (
        "Rupa kept sending more pages than it said it had, so Rupa Desk stopped reading them. "
        "Try again later; if it keeps happening, report it."
    )


class RefusedLink(MalformedResponse):
    """Rupa sent a link Rupa Desk does not follow (another site's next page, a `file:` or
    plain-http file link): nothing was requested."""

    default_message = (
        "Rupa sent a link Rupa Desk will not open, so nothing was downloaded. If it keeps "
        "happening, report it."
    )


class NotAPdf(MalformedResponse):
    """A link that should give a PDF (a requisition) gave something else: it was not kept."""

    default_message = (
        "Rupa sent something that is not a PDF, so it was not opened. Try again later; if it "
        "keeps happening, report it."
    )


class DownloadFailed(RupaError):
    """A file could not be downloaded or saved; nothing half-written was left behind."""

    default_message = "The file could not be saved. Check the folder and try again."


class DiskFull(DownloadFailed):
    """The disk is full: the file was not saved."""

    default_message = "The disk is full, so the file was not saved. Free some space and try again."


class FileTooLarge(DownloadFailed):
    """The file is larger than Rupa Desk accepts (`ClientLimits.max_download_bytes`); the part
    already received was removed.

    Attributes:
        limit_bytes: the largest file accepted.
    """

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        megabytes = max(1, round(limit_bytes / 1_000_000))
        super().__init__(
            f"The file Rupa sent is larger than {megabytes} MB, more than a result file should "
            "be, so it was not saved. Try again later; if it keeps happening, report it."
        )


class SecretStoreUnavailable(RupaError):
    """The OS keychain refused to store, read or delete a secret."""

    default_message = (
        "The system keychain is not available, so Rupa Desk cannot remember your session. "
        "You will need to sign in again next time."
    )


class SignInError(RupaError):
    """The browser sign-in did not finish."""

    default_message = "Sign-in did not finish. Try again."


class AccessDenied(SignInError):
    """The practitioner (or Rupa) declined the consent page."""

    default_message = "Access was denied in the browser. Sign in again and choose Allow."


class SignInTimedOut(SignInError):
    """Nobody came back from the browser in time."""

    default_message = (
        "Sign-in timed out waiting for the browser. Start sign-in again and finish it in the "
        "browser."
    )


class SignInCancelled(SignInError):
    """The user cancelled sign-in."""

    default_message = "Sign-in was cancelled."


class NoFreePort(SignInError):
    """None of the configured redirect ports could be opened on this computer."""

    default_message = (
        "Rupa Desk could not open any of the configured sign-in ports on this computer. Close "
        "the program using them, or ask your admin to register another port."
    )


class SignInFailed(SignInError):
    """Rupa's authorization or token endpoint refused the sign-in (e.g. a wrong client id)."""

    default_message = (
        "Rupa refused the sign-in. Check the client id in Settings; if it is right, try again "
        "later."
    )


class IssuerMismatch(SignInError):
    """The browser came back from another sign-in server than the one asked (RFC 9207 `iss`):
    a mix-up of servers, so the answer was refused."""

    default_message = (
        "The sign-in answer came from another server than the one Rupa Desk asked, so it was "
        "refused. Start sign-in again; if it happens again, tell your administrator."
    )


class SessionBusy(RupaError):
    """Another Rupa Desk process kept the session locked (renewing it) for too long."""

    default_message = (
        "Another Rupa Desk window is still renewing your Rupa session. Try again in a minute."
    )


class SignInServerMoved(RupaError):
    """The token or revocation endpoint answered with a redirect: a configuration problem.

    A redirect is never followed there: the request carries the refresh token or the code,
    and a POST redirected by a server that adds a trailing slash would not be resent as a
    POST anyway.

    Attributes:
        url: the URL that answered with the redirect.
    """

    def __init__(self, url: str, status: int) -> None:
        self.url = url
        super().__init__(
            f"The sign-in server moved {url} (HTTP {status}). Check the environment's token "
            "URL in Settings > Administrator.",
            status=status,
        )
