"""Problems met in a capture, kept in bounded memory: counted by kind, a few of each listed.

A capture of ten million bad records has ten million problems; keeping each would make
memory grow with the file. A :class:`ProblemLog` counts every problem under its *kind*
(its reason with the numbers taken out, :func:`kind_of`) and keeps the first
:data:`EXAMPLES` of each kind word for word, for at most :data:`KINDS` kinds (problems
of any further kind are counted under :data:`OTHER`). Nothing is dropped: every problem
is in :attr:`ProblemLog.total` and in its kind's count.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Generic, TypeVar

__all__ = ["EXAMPLES", "KINDS", "OTHER", "ProblemLog", "kind_of"]

EXAMPLES = 10
"""Problems of each kind kept word for word."""
KINDS = 64
"""Kinds counted apart; problems of any further kind are counted under :data:`OTHER`."""
OTHER = "other problems"

_NUMBER = re.compile(r"\b(?:0x[0-9a-fA-F]+|\d+)\b")
T = TypeVar("T")
U = TypeVar("U")


def kind_of(reason: str) -> str:
    """A problem's kind: its reason with every number replaced by ``N``.

    >>> kind_of("captured length 300 is over the snap length 200 (type 0x6)")
    'captured length N is over the snap length N (type N)'
    """
    return _NUMBER.sub("N", reason)


class ProblemLog(Generic[T]):
    """Problems counted by kind, with the first :data:`EXAMPLES` of each kind kept.

    ``len(log)`` is the number of problems, listed or not; :attr:`examples` are the kept
    ones in the order they were met; :attr:`counts` has every problem by kind (kinds in
    the order first met).
    """

    def __init__(self) -> None:
        self.total = 0
        self.counts: Counter[str] = Counter()
        self._listed: list[tuple[str, T]] = []
        self._room: Counter[str] = Counter()  # examples listed, by kind

    def __len__(self) -> int:
        return self.total

    def __repr__(self) -> str:
        return f"ProblemLog(total={self.total}, kinds={len(self.counts)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProblemLog):
            return NotImplemented
        return (self.counts, self._listed) == (other.counts, other._listed)

    __hash__ = None  # type: ignore[assignment]  # mutable

    @property
    def examples(self) -> list[T]:
        """The problems kept word for word, in the order they were met."""
        return [example for _, example in self._listed]

    @property
    def more(self) -> int:
        """Problems counted but not listed."""
        return self.total - len(self._listed)

    def by_kind(self) -> list[tuple[str, int, list[T]]]:
        """(kind, count, the examples kept) for every kind, in the order first met."""
        kept: dict[str, list[T]] = {}
        for kind, example in self._listed:
            kept.setdefault(kind, []).append(example)
        return [(kind, n, kept.get(kind, [])) for kind, n in self.counts.items()]

    def _kind(self, kind: str) -> str:
        return kind if kind in self.counts or len(self.counts) < KINDS else OTHER

    def wants(self, kind: str) -> bool:
        """True while a problem of ``kind`` would still be listed."""
        return self._room[self._kind(kind)] < EXAMPLES

    def add(self, kind: str, examples: Iterable[T] = (), count: int = 1) -> None:
        """Count ``count`` problems of ``kind``, listing the first of ``examples`` (the
        problems themselves, in order) while the kind has room. The rest of ``examples``
        is not consumed, so it may be a lazy iterator over many."""
        if count <= 0:
            return
        kind = self._kind(kind)
        self.total += count
        self.counts[kind] += count
        room = min(EXAMPLES - self._room[kind], count)
        if room > 0:
            taken = list(islice(examples, room))
            self._listed += [(kind, example) for example in taken]
            self._room[kind] += len(taken)

    def update(self, other: ProblemLog[T]) -> None:
        """Add another log's problems (its examples listed while their kinds have room)."""
        self.extend(other, lambda example: example)

    def extend(self, other: ProblemLog[U], convert: Callable[[U], T]) -> None:
        """Add another log's problems, its examples converted (``str``, say)."""
        for kind, count, examples in other.by_kind():
            self.add(kind, map(convert, examples), count)
