"""What a sysfs or debugfs store sees of a write, and the kernel's ways of reading it.

fs/kernfs/file.c `kernfs_fop_write_iter` copies at most a page of the user's buffer and
NUL-terminates it; the store functions then treat it as a C string. So the value ends at the
first NUL byte: helpers that write `strlen(s) + 1` bytes work on a board. Stores compare with
lib/string.c `sysfs_streq` (one trailing newline ignored on either side) or cut at the first
newline with `strcspn` (drivers/base/driver.c `driver_set_override`). Everything stays bytes:
input that is not UTF-8 simply matches nothing, as in C.
"""
from __future__ import annotations

PAGE_SIZE = 4096  # kernfs hands a store at most one page


def c_string(data: bytes) -> bytes:
    """The store's buffer read as a C string: up to the first NUL."""
    return data[:PAGE_SIZE].split(b"\0", 1)[0]


def sysfs_streq(data: bytes, word: str | bytes) -> bool:
    """lib/string.c `sysfs_streq`: equal as C strings, one trailing newline ignored."""
    value = c_string(data)
    expected = word.encode() if isinstance(word, str) else word
    return _chomp(value) == _chomp(expected)


def first_line(data: bytes) -> bytes:
    """`strcspn(buf, "\\n")` on the C string: the value up to the first NUL or newline."""
    return c_string(data).split(b"\n", 1)[0]


def streq_word(data: bytes) -> bytes:
    """The word `sysfs_streq` compares: the C string less one trailing newline."""
    return _chomp(c_string(data))


def _chomp(value: bytes) -> bytes:
    return value[:-1] if value.endswith(b"\n") else value
