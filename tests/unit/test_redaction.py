"""The log safety net removes tokens and patient data and leaves the rest readable."""

from __future__ import annotations

import pytest

from rupa_desk.core.redaction import REDACTED, escape_control_characters, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /patients Authorization: Bearer eyJhbGciOi.abc-123_x", "eyJhbGciOi.abc-123_x"),
        ('{"access_token": "tok-123", "token_type": "Bearer"}', "tok-123"),
        ("{'refresh_token': 'r3fr3sh'}", "r3fr3sh"),
        ("grant_type=refresh_token&refresh_token=r3fr3sh&client_id=x", "r3fr3sh"),
        ("/oauth/callback?code=c0de&state=abc", "c0de"),
        ("client_secret=s3cret", "s3cret"),
        ('{"first_name": "Jane", "last_name": "Doe"}', "Jane"),
        ('{"first_name": "Jane", "last_name": "Doe"}', "Doe"),
        ('{"birthday": "1980-02-03"}', "1980-02-03"),
        ("GET /patients?filter[email]=jane%40example.com", "jane%40example.com"),
        # httpx's request line: brackets and @ percent-encoded
        (
            "HTTP Request: GET http://127.0.0.1:9/patients?filter%5Bemail%5D=ada%40example.test"
            '&page%5Bsize%5D=50 "HTTP/1.1 200 OK"',
            "ada%40example.test",
        ),
        ("/patients?filter%5bemail%5d=someone", "someone"),
        ("see jane%40example.com", "jane%40example.com"),
        ("could not create jane.doe+x@example.co.uk", "jane.doe+x@example.co.uk"),
        ('{"phone": "+1 555 0100"}', "555 0100"),
        ("opaque AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 end", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"),
        (r'{"last_name": "O\"Brien"}', "Brien"),
    ],
)
def test_redact_removes_secrets_and_patient_data(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_redact_keeps_ordinary_text_and_ids() -> None:
    text = (
        "GET http://127.0.0.1:8765/lab_tests?page[number]=3 -> 200 in 12 ms; patient pat_a1B2c3D "
        "order ord_ZZ12345, path /home/user/.local/share/RupaDesk/demo/rupa-desk.sqlite3"
    )
    assert redact(text) == text


def test_redact_keeps_keys_so_the_line_stays_readable() -> None:
    assert redact("refresh_token=abc") == f"refresh_token={REDACTED}"
    assert redact('{"email": "a@b.co"}') == f"{{\"email\": '{REDACTED}'}}"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("access_denied\n2026-12-07 INFO rupa_desk: signed in", "access_denied\\n2026-12-07 INFO"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("tab\there", "tab\\there"),
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
        ("nul\x00del\x7fnel\x85", "nul\\x00del\\x7fnel\\x85"),
        ("line\u2028separator\u2029", "line\\u2028separator\\u2029"),
        ("bidi \u202egnp.exe", "bidi \\u202egnp.exe"),
    ],
)
def test_control_characters_are_escaped_onto_one_line(text: str, escaped: str) -> None:
    result = escape_control_characters(text)
    assert escaped in result
    assert len(result.splitlines()) == 1
    assert result.isprintable()


def test_escaping_keeps_ordinary_text_and_can_keep_line_feeds() -> None:
    assert escape_control_characters("Zoë's order ü 中 \\n stays") == "Zoë's order ü 中 \\n stays"
    assert escape_control_characters("a\nb\rc", keep_newlines=True) == "a\nb\\rc"
