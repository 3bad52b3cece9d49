"""The unlock PIN of the idle lock: how it is checked, hashed and verified.

Only a salted scrypt hash of a PIN is ever stored (in the secret store), so that a copy of
the keychain entry does not give the PIN away; a PIN is short, so the hash is a slow one
(scrypt) with a random salt per PIN. The stored text says its parameters, so they can be
raised later without making older PINs unusable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

#: The fewest and most digits a PIN has.
PIN_LENGTH: Final = (4, 12)
#: scrypt's cost parameters for new hashes (n: CPU/memory cost, r: block size, p: threads).
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
SALT_BYTES: Final = 16
_SCHEME: Final = "scrypt"


def pin_problem(pin: str) -> str:
    """What is wrong with `pin` as a new PIN, in words for the user ("" when it is fine)."""
    low, high = PIN_LENGTH
    if not pin.isdigit() or not pin.isascii():
        return "Use digits only for the PIN."
    if not low <= len(pin) <= high:
        return f"Use {low} to {high} digits for the PIN."
    return ""


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of `pin`, as text to store ("scrypt$n$r$p$salt$hash")."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"{_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when `pin` is the PIN that `stored` (from `hash_pin`) was made from.

    Raises:
        ValueError: `stored` is not a hash that `hash_pin` made.
    """
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        raise ValueError("not a stored PIN hash")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError as exc:
        raise ValueError("not a stored PIN hash") from exc
    if not (1 < n <= 2**20 and 0 < r <= 32 and 0 < p <= 16 and salt and expected):
        raise ValueError("not a stored PIN hash")
    return hmac.compare_digest(_scrypt(pin, salt, n, r, p), expected)


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=32)
