"""Results that depend only on the facts a rule reads, computed once per set of values.

Most rules read a few boolean or enum fields, so across assessments the same
values come back again and again (on the benchmark's random data ~80 % of the
fired and undetermined rules of a placement had been seen with the same values
before). What a rule's values decide, the fields it waits on, its explanation,
its texts, is then looked up instead of computed.

A key holds the rule's id and the values of every fact the result can read
(`reads`), so a hit is exact: the same values give the same result. Values that
cannot be hashed are computed every time. The store is bounded: it is emptied
when full (numbers vary without end).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 16_384
# What `lookup` answers for a result not stored (a stored result may be None).
MISSING: Any = object()


def reads(*paths: Iterable[str]) -> tuple[str, ...]:
    """The fact paths a result reads, in a fixed order (parameters excluded: they belong
    to the loaded rule base, which each memo is made for)."""
    return tuple(sorted({p for group in paths for p in group if not p.startswith("params.")}))


class Memo:
    """A bounded map from (rule id, values read) to a result, safe to share between threads
    (a lost race computes a result twice, never a wrong one)."""

    def __init__(self, limit: int = DEFAULT_LIMIT):
        self._values: dict[Hashable, Any] = {}
        self._limit = limit

    @staticmethod
    def key(name: str, paths: tuple[str, ...], facts: Mapping[str, Any], *extra: Any) -> Any:
        return (name, tuple(map(facts.get, paths)), *extra)

    def get(self, key: Any, compute: Callable[[], T]) -> T:
        try:
            value = self._values.get(key, MISSING)
        except TypeError:  # a value that cannot be hashed
            return compute()
        if value is not MISSING:
            return value  # type: ignore[no-any-return]
        value = compute()
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[key] = value
        return value

    def lookup(self, key: Any) -> Any:
        """The stored result, or `MISSING` (also for a key that cannot be hashed): `get`
        without a function to call, for the hottest callers (no closure per look-up)."""
        try:
            return self._values.get(key, MISSING)
        except TypeError:
            return MISSING

    def getter(self) -> Callable[[Any, Any], Any]:
        """The store's own `get(key, default)`, for loops that look up many keys: no
        Python call per look-up. The caller catches the TypeError of a key that cannot
        be hashed (as `lookup` does)."""
        return self._values.get

    def store(self, key: Any, value: T) -> T:
        """Keep a result computed after `lookup` missed (a key that cannot be hashed is
        not kept); returns the value."""
        try:
            hash(key)
        except TypeError:
            return value
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[key] = value
        return value

    def __len__(self) -> int:
        return len(self._values)
