"""What is emulated: SoCs, kernel profiles, boards, and a checker of real kernel configs.

Data and small pure functions only; imports nothing from the other rpmsg-emu packages.
"""

from .board import (Board, BoardError, CoreConfig, board_from_dict, builtin_board,
                    default_board, list_builtin_boards, load_board)
from .kernel_profile import DEFAULT_PROFILE, PROFILES, KernelProfile, profile_by_name
from .soc import RPROC_ID_NAMES, SOCS, RemoteProc, Soc, rproc_id_from_name, soc_by_family

__all__ = [
    "Board", "BoardError", "CoreConfig", "board_from_dict", "builtin_board", "default_board",
    "list_builtin_boards", "load_board",
    "Finding", "Report", "RunningConfig", "Severity", "check_rpmsg_char", "parse_config",
    "read_running_config",
    "DEFAULT_PROFILE", "PROFILES", "KernelProfile", "profile_by_name",
    "RPROC_ID_NAMES", "SOCS", "RemoteProc", "Soc", "rproc_id_from_name", "soc_by_family",
]

_KCONFIG_CHECK = {"Finding", "Report", "RunningConfig", "Severity", "check_rpmsg_char",
                  "parse_config", "read_running_config"}


def __getattr__(name: str) -> object:
    """The kernel-config checker (`rpmsg-emu doctor`) is imported when first asked for: a
    mount does not need it and starts faster without it."""
    if name in _KCONFIG_CHECK:
        from . import kconfig_check

        return getattr(kconfig_check, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
