"""What a sysfs or debugfs store sees of a write, and the kernel's ways of reading it.

fs/kernfs/file.c `kernfs_fop_write_iter` copies at most a page of the user's buffer and
NUL-terminates it; the store functions then treat it as a C string. So the value ends at the
first NUL byte: helpers that write `strlen(s) + 1` bytes work on a board. Stores compare with
lib/string.c `sysfs_streq` (one trailing newline ignored on either side) or cut at the first
newline with `strcspn` (drivers/base/driver.c `driver_set_override`). Everything stays bytes:
input that is not UTF-8 simply matches nothing, as in C.
"""
from __future__ import annotations

import errno
import os

PAGE_SIZE = 4096  # kernfs hands a store at most one page


def c_string(data: bytes) -> bytes:
    """The store's buffer read as a C string: up to the first NUL."""
    return data[:PAGE_SIZE].split(b"\0", 1)[0]


def sysfs_streq(data: bytes, word: str | bytes) -> bool:
    """lib/string.c `sysfs_streq`: equal as C strings, or one has a lone newline where the
    other ends. It walks the common part first, so "a\n" and "a\n\n" are equal too."""
    value = c_string(data)
    expected = c_string(word.encode() if isinstance(word, str) else word)
    common = len(os.path.commonprefix([value, expected]))
    rests = {value[common:], expected[common:]}
    return rests == {b""} or rests == {b"", b"\n"}


def first_line(data: bytes) -> bytes:
    """`strcspn(buf, "\\n")` on the C string: the value up to the first NUL or newline."""
    return c_string(data).split(b"\n", 1)[0]


def streq_word(data: bytes) -> bytes:
    """The word `sysfs_streq` compares: the C string less one trailing newline."""
    return _chomp(c_string(data))


def _chomp(value: bytes) -> bytes:
    return value[:-1] if value.endswith(b"\n") else value


def strncmp_equal(buf: bytes, word: str | bytes) -> bool:
    """`!strncmp(buf, word, count)` with count = len(buf), as the debugfs and remoteproc cdev
    writes compare the raw user buffer (no NUL added): equal up to count bytes or up to a NUL
    in both. So a prefix of the word matches ("st" is "start"), and "start\\n" does not."""
    expected = word.encode() if isinstance(word, str) else word
    for i, byte in enumerate(buf):
        other = expected[i] if i < len(expected) else 0
        if byte != other:
            return False
        if byte == 0:
            return True
    return True


def kstrtouint(data: bytes) -> int:
    """lib/kstrtox.c `kstrtouint_from_user(buf, count, 0, &v)`: at most 34 bytes, read as a
    C string; base from the prefix (0x → 16, 0 → 8, else 10), a leading '+', one trailing
    newline. Raises ValueError carrying the errno: EINVAL for junk, ERANGE past 32 bits."""
    text = c_string(data[:34])
    if text.startswith(b"+"):
        text = text[1:]
    base = 10
    if text.startswith(b"0"):
        base = 8
        if text[1:2] in (b"x", b"X") and text[2:3] and text[2:3] in b"0123456789abcdefABCDEF":
            base, text = 16, text[2:]
    digits = 0
    value = 0
    for byte in text:
        digit = int(chr(byte), 36) if chr(byte).isalnum() and byte < 128 else 99
        if digit >= base:
            break
        value = value * base + digit
        digits += 1
    rest = text[digits:]
    if rest == b"\n":
        rest = b""
    if digits == 0 or rest:
        raise ValueError(errno.EINVAL)
    if value > 0xFFFFFFFF:
        raise ValueError(errno.ERANGE)
    return value
