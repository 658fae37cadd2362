"""Reading kernel config files as people have them: a .config, a defconfig plus fragments
(merged in order, later lines win, as scripts/kconfig/merge_config.sh does), or
/proc/config.gz copied from a board under any name (gzip is told by its magic bytes).
"""
from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"


class ConfigFileError(ValueError):
    """A file that cannot be read as a kernel config (names the file and why)."""


def read_config_text(path: Path) -> str:
    """The text of a config file, gunzipped when it starts with the gzip magic; OSError when
    it cannot be read, ConfigFileError when it is damaged gzip or not text."""
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ConfigFileError(f"{path}: damaged gzip data ({exc})") from None
    if b"\0" in data:
        raise ConfigFileError(f"{path}: not a kernel config (binary data)")
    return data.decode("utf-8", errors="replace")


def merge_config_texts(texts: Sequence[str]) -> str:
    """A base config and fragments as one text: later assignments win when parsed."""
    return "\n".join(text if text.endswith("\n") or not text else text + "\n"
                     for text in texts)
