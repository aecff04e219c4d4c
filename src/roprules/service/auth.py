"""Bearer tokens checked against a file of their SHA-256 hashes.

The token file holds one hex SHA-256 digest per line (`#` starts a comment);
the tokens themselves are never stored on the server. A request's token is
hashed and compared with every digest in constant time (`hmac.compare_digest`),
so neither the match nor its position leaks through timing.

    printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1 >> tokens.sha256
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from pathlib import Path

_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")


class TokenFileError(Exception):
    pass


def read_token_hashes(path: str | Path) -> tuple[bytes, ...]:
    """The digests of a token file; TokenFileError if it is unreadable, malformed or empty."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(f"{path}: cannot read the token file ({exc})") from None
    digests = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if not _DIGEST.match(line):
            raise TokenFileError(
                f"{path}: line {number}: expected a hex SHA-256 digest (64 characters)"
            )
        digests.append(bytes.fromhex(line))
    if not digests:
        raise TokenFileError(f"{path}: no token digests in the file")
    return tuple(digests)


def token_matches(token: str, digests: tuple[bytes, ...]) -> bool:
    """True if the token's SHA-256 equals one of the digests; every digest is compared."""
    presented = hashlib.sha256(token.encode("utf-8")).digest()
    found = False
    for digest in digests:
        found |= hmac.compare_digest(presented, digest)
    return found


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"; False for anything else (0.0.0.0, names)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
