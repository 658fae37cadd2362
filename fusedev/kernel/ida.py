"""IDA: the kernel's allocator of small integer ids, always handing out the lowest free one."""
from __future__ import annotations


class Ida:
    """Lowest-free id allocation, as `ida_alloc_range` does (not cyclic: freed ids return)."""

    __slots__ = ("_used", "_min", "_max")

    def __init__(self, minimum: int = 0, maximum: int = 2**31 - 1) -> None:
        self._used: set[int] = set()
        self._min = minimum
        self._max = maximum

    def alloc(self, start: int | None = None) -> int:
        """The lowest free id ≥ `start` (default: the allocator's minimum)."""
        value = self._min if start is None else max(start, self._min)
        while value in self._used:
            value += 1
        if value > self._max:
            raise OSError(28, "no free id")  # ENOSPC
        self._used.add(value)
        return value

    def alloc_exact(self, value: int) -> bool:
        """Take `value` if it is free (idr_alloc with a one-id range)."""
        if value in self._used or not self._min <= value <= self._max:
            return False
        self._used.add(value)
        return True

    def free(self, value: int) -> None:
        self._used.discard(value)

    def __contains__(self, value: int) -> bool:
        return value in self._used


class HeldNumbers:
    """A char device's name number and minor, held until its last reference goes.

    As the kernel's device release callback frees them: the registration holds one
    reference, each open file one more, so a destroyed device still open keeps its numbers.
    """

    __slots__ = ("index", "minor", "_names", "_minors", "_refs")

    def __init__(self, names: Ida, minors: Ida) -> None:
        self._names = names
        self._minors = minors
        self.index = names.alloc()
        self.minor = minors.alloc()
        self._refs = 1

    def get(self) -> None:
        self._refs += 1

    def put(self) -> None:
        self._refs -= 1
        if self._refs == 0:
            self._names.free(self.index)
            self._minors.free(self.minor)
