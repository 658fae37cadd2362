"""Where the tree lives: `/` on a board, or an emulator's mount directory holding `sys/` and `dev/`."""

import os

ROOT_ENV = "RPMSG_CHAR_ROOT"


def select_root(root: str | os.PathLike | None = None) -> str:
    """The explicit `root` if given, else `$RPMSG_CHAR_ROOT` if set and non-empty, else `/`.

    Returned as a real path, because every sysfs link is compared after `realpath`.
    """
    chosen = root if root is not None else (os.environ.get(ROOT_ENV) or "/")
    return os.path.realpath(os.fspath(chosen))
