"""Recognising Norwegian national identity numbers (fødselsnummer, D- and H-numbers).

Profiles are pseudonymous, so an 11-digit national identity number is refused
wherever it appears: in text, in keys, in list items and in number fields, also
when it is written with separators (`010190-12345`, `01.01.90.12345`,
`0101 9012345`) or with invisible characters between the digits. The two check
digits (modulus 11) and the date part are validated, so that an ordinary
11-digit number (an account or order number) is not refused needlessly.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
# Digits that may be separated by spaces, dots, dashes, slashes, underscores or
# invisible characters (removed before this pattern runs).
_SEPARATOR = r"[\s._\-\u2010-\u2015\u2212/:,'’]{0,3}"
_DIGIT_RUN = re.compile(rf"\d(?:{_SEPARATOR}\d)*")
_GROUP = re.compile(r"\d+")
_ANY_DIGIT = re.compile(r"\d")
# A text with 11 digits or more (any script), wherever they are: one search, no list.
ELEVEN_DIGITS = re.compile(r"(?:\d\D*+){11}")


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def _plausible_date(digits: str) -> bool:
    day, month = int(digits[0:2]), int(digits[2:4])
    if day > 40:  # D-number
        day -= 40
    if month > 80:  # synthetic test numbers (Skatteetaten's Tenor)
        month -= 80
    elif month > 40:  # H-number
        month -= 40
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    try:
        date(2000, month, day)  # 2000 is a leap year: 29 February is possible
    except ValueError:
        return False
    return True


def is_national_id(digits: str) -> bool:
    """True when 11 digits are a valid fødselsnummer, D-number or H-number."""
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    if not _plausible_date(digits):
        return False
    first = _check_digit(digits[:9], _WEIGHTS_1)
    if first is None or first != int(digits[9]):
        return False
    second = _check_digit(digits[:10], _WEIGHTS_2)
    return second is not None and second == int(digits[10])


def _visible(text: str) -> str:
    """The text without invisible format characters (zero-width spaces, joiners, bidi)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)


def text_contains_national_id(text: str) -> bool:
    """True when the text holds a national identity number, however it is written."""
    if len(text) <= 1000:  # the common case, one search in C
        if ELEVEN_DIGITS.search(text) is None:
            return False
    elif len(_ANY_DIGIT.findall(text)) < 11:  # long: the search could scan it once per digit
        return False
    text = _ascii_digits(_visible(text))
    for run in _DIGIT_RUN.finditer(text):
        groups = _GROUP.findall(run.group())
        # Every window of whole digit groups that adds up to exactly 11 digits.
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) >= 11:
                    break
            if len(digits) == 11 and is_national_id(digits):
                return True
    return False


def contains_national_id(value: Any) -> bool:
    """True for text, a number, or a list/mapping (keys too) holding a national identity number."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return text_contains_national_id(value)
    if isinstance(value, int):
        digits = str(abs(value))
        # A number loses its leading zero: 01019012345 is 1019012345.
        return len(digits) in (10, 11) and is_national_id(digits.zfill(11))
    if isinstance(value, float):
        return value.is_integer() and contains_national_id(int(value))
    if isinstance(value, dict):
        return any(contains_national_id(k) or contains_national_id(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(contains_national_id(item) for item in value)
    return False


def make_national_id(birth: str, individual: str) -> str | None:
    """A valid number from DDMMYY and a three-digit individual number (for tests)."""
    digits = birth + individual
    first = _check_digit(digits, _WEIGHTS_1)
    if first is None:
        return None
    second = _check_digit(digits + str(first), _WEIGHTS_2)
    if second is None:
        return None
    return f"{digits}{first}{second}"
