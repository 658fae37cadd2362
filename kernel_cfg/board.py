"""Boards: one SoC + one kernel profile + which cores run which firmware, from TOML files.

The format is documented in docs/boards.md. Validation happens here, once, so that a typo in a
board file is reported with the file and key instead of surfacing as an odd emulator state.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .core_faults import fault_problem
from .core_timing import TIMING_MODES, timing_value_problem
from .dma_heaps import HeapSpec, heaps_from_tables
from .kernel_profile import DEFAULT_PROFILE, PROFILES, KernelProfile
from .soc import RPROC_ID_NAMES, RemoteProc, Soc, SOCS, soc_by_family

# virtio_rpmsg_bus uses 512-byte buffers and at most 256 per direction (linux-rpmsg-semantics §4.2).
DEFAULT_NUM_BUFS = 256
DEFAULT_BUF_SIZE = 512
MAX_NUM_BUFS = 256
# The smallest power of two that carries a 40-byte name-service message (struct rpmsg_ns_msg)
# behind the 16-byte rpmsg_hdr: with less no channel is ever announced (rpmsg_ns_cb).
MIN_BUF_SIZE = 64
MAX_BUF_SIZE = 65536


class BoardError(ValueError):
    """A board description that cannot be emulated; names the file, the key and what is allowed."""

    def __init__(self, source: str, key: str, message: str):
        self.source = source
        self.key = key
        self.message = message
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")


@dataclass
class CoreConfig:
    """One remote core of the board and the firmware it runs."""

    rproc_id: int
    firmware: str = "echo"
    autostart: bool = True
    num_bufs: int = DEFAULT_NUM_BUFS
    buf_size: int = DEFAULT_BUF_SIZE
    config: dict[str, Any] = field(default_factory=dict)
    # Timing (kernel_cfg/core_timing.py); None: the default of the core's kind.
    processing_us: float | None = None  # time the core spends on each received message
    irq_latency_us: float | None = None  # from a mailbox kick to the receiver's ISR, each way
    per_byte_ns: float | None = None  # copy cost per payload byte, on receipt and on sending
    watchdog_ms: float | None = None  # a firmware blocking its core this long crashes it
    faults: dict[str, Any] = field(default_factory=dict)  # fault injection (core_faults.py)
    # The kernel finds the core already running (k3_r5_rproc_configure_mode): it attaches
    # instead of loading firmware; state "attached", firmware "unknown", no stop, detach works.
    ipc_only: bool = False


@dataclass
class Board:
    """Everything the emulator needs to know to fabricate one board."""

    name: str
    soc: Soc
    profile: KernelProfile
    cores: dict[int, CoreConfig]
    dev_uid: int = 0
    dev_gid: int = 0
    dev_mode: int = 0o600  # real /dev/rpmsg* are crw------- (ti-rpmsg-char.md §4.8)
    firmware_dirs: list[Path] = field(default_factory=list)
    timing: str = "board"  # "fast": no modelled delay on any core (core_timing.TIMING_MODES)
    # "board": the cores probe in the board's device-tree order; "shuffle": a permutation,
    # fixed by probe_seed (None: the emulator draws one and logs it). docs/boards.md.
    probe_order: str = "board"
    probe_seed: int | None = None
    # /dev/dma_heap: None for the SoC's SDK heaps (kernel_cfg/dma_heaps.py), else the board's
    dma_heaps: tuple[HeapSpec, ...] | None = None

    def rprocs(self) -> list[RemoteProc]:
        """The SoC's descriptions of the configured cores, in rproc-id order."""
        return [self.soc.rproc(rid) for rid in sorted(self.cores)]


def default_board() -> Board:
    """AM62x SK on the TI 6.x kernel, M4F (9) and wakeup R5F (15) both running echo."""
    return Board(
        name="am62x",
        soc=SOCS["AM62X"],
        profile=PROFILES[DEFAULT_PROFILE],
        cores={9: CoreConfig(9), 15: CoreConfig(15, ipc_only=True)},
    )


_TOP_KEYS = {"name", "soc", "profile", "firmware_dirs", "dev", "cores", "probe_order",
             "timing", "dma_heaps"}
_DEV_KEYS = {"uid", "gid", "mode"}
_CORE_KEYS = {"firmware", "autostart", "num_bufs", "buf_size", "config", "processing_us",
              "irq_latency_us", "per_byte_ns", "watchdog_ms", "faults", "ipc_only"}
# The core that runs TI's Device Manager firmware, started by the bootloader, which the
# kernel therefore drives in IPC-only mode: the wakeup R5F of the AM62 family (a real AM62x
# SK shows remoteproc1 78000000.r5f `attached`) and the first MCU R5F of the J7 family (a
# J721E boot log: "41000000.r5f: configured R5F for IPC-only mode"). Boards may say
# otherwise (`ipc_only`).
IPC_ONLY_DEFAULT = {"AM62X": 15, "AM62AX": 15, "AM62PX": 15, "J722S": 15,
                    "J721E": 0, "J7200": 0, "J721S2": 0, "J784S4": 0}
_MODE_RE = re.compile(r"(?:0o|0)?([0-7]{3})")


def load_board(path: str | Path) -> Board:
    """Read and validate a board TOML file; relative firmware dirs resolve next to it."""
    path = Path(path)
    try:
        data = tomllib.loads(_read_regular_file(path))
    except OSError as e:
        raise BoardError(str(path), "", f"cannot read board file: {e.strerror}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BoardError(str(path), "", f"not valid TOML: {e}") from e
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise BoardError(str(path), "", "not valid TOML: nested too deeply") from None
    return board_from_dict(data, path.parent, source=str(path), default_name=path.stem)


def _read_regular_file(path: Path) -> str:
    """The text of `path`, refusing what is not a regular file: /dev/zero would be read
    forever and a FIFO would block. Opened non-blocking so that a FIFO's open returns."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BoardError(str(path), "", "not a regular file")
        return file.read().decode()


def board_from_dict(
    d: dict[str, Any],
    base_dir: str | Path,
    *,
    source: str = "<board>",
    default_name: str | None = None,
) -> Board:
    """Validate a parsed board description; `source` names it in errors."""
    _check_keys(d, _TOP_KEYS, source, "")
    soc = _parse_soc(d.get("soc"), source)
    profile_name = _typed(d, "profile", str, source, "", DEFAULT_PROFILE)
    if profile_name not in PROFILES:
        raise BoardError(source, "profile",
                         f"unknown kernel profile {profile_name!r}; allowed: {', '.join(PROFILES)}")
    name = _typed(d, "name", str, source, "", default_name or soc.family.lower())
    dev = _typed(d, "dev", dict, source, "", {})
    _check_keys(dev, _DEV_KEYS, source, "dev.")
    cores_table = _typed(d, "cores", dict, source, "", None)
    if not cores_table:
        raise BoardError(source, "cores", "at least one [cores.<id>] table is required; "
                         f"{soc.family} has {_valid_ids(soc)}")
    cores: dict[int, CoreConfig] = {}
    for key, table in cores_table.items():
        core = _parse_core(soc, str(key), table, source)
        if core.rproc_id in cores:
            raise BoardError(source, f"cores.{key}",
                             f"rproc id {core.rproc_id} is configured twice")
        cores[core.rproc_id] = core
    dirs = _typed(d, "firmware_dirs", list, source, "", [])
    order, seed = parse_probe_order(_typed(d, "probe_order", str, source, "", "board"),
                                    source, "probe_order")
    return Board(
        name=name,
        soc=soc,
        profile=PROFILES[profile_name],
        cores=dict(sorted(cores.items())),
        dev_uid=_id_number(dev, "uid", source),
        dev_gid=_id_number(dev, "gid", source),
        dev_mode=_parse_mode(dev.get("mode", 0o600), source),
        firmware_dirs=[_firmware_dir(p, Path(base_dir), source, i) for i, p in enumerate(dirs)],
        probe_order=order,
        probe_seed=seed,
        timing=_timing_mode(d, source),
        dma_heaps=_dma_heaps(d, source),
    )


def _dma_heaps(d: dict[str, Any], source: str) -> tuple[HeapSpec, ...] | None:
    tables = _typed(d, "dma_heaps", list, source, "", None)
    if tables is None:
        return None
    try:
        return heaps_from_tables(tables)
    except ValueError as exc:
        key, message = exc.args
        raise BoardError(source, key, message) from None


def _timing_mode(d: dict[str, Any], source: str) -> str:
    mode = _typed(d, "timing", str, source, "", "board")
    if mode not in TIMING_MODES:
        raise BoardError(source, "timing", f"{mode!r} is not allowed; {' or '.join(TIMING_MODES)}"
                         " (fast: no modelled delay)")
    return mode


def parse_probe_order(value: str, source: str, key: str) -> tuple[str, int | None]:
    """`board`, `shuffle` or `shuffle:SEED` (SEED a decimal integer ≥ 0) → (order, seed)."""
    order, colon, seed = value.strip().partition(":")
    if order == "board" and not colon:
        return "board", None
    if order == "shuffle" and not colon:
        return "shuffle", None
    if order == "shuffle" and seed.isdigit():
        return "shuffle", int(seed)
    raise BoardError(source, key, f"{value!r} is not allowed; board, shuffle or shuffle:SEED "
                     "(SEED a number ≥ 0)")


def list_builtin_boards() -> list[str]:
    """Names of the example boards shipped in kernel_cfg/boards/."""
    return sorted(p.name[: -len(".toml")] for p in _boards_dir().iterdir()
                  if p.name.endswith(".toml"))


def builtin_board(name: str) -> Board:
    """Load a shipped example board by name (e.g. "am62x")."""
    if name not in list_builtin_boards():
        raise BoardError(name, "", "no such built-in board; available: "
                         + ", ".join(list_builtin_boards()))
    with resources.as_file(_boards_dir() / f"{name}.toml") as path:
        return load_board(path)


def _boards_dir():
    return resources.files(__package__) / "boards"


def _check_keys(table: dict[str, Any], allowed: set[str], source: str, prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise BoardError(source, f"{prefix}{key}",
                             f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _typed(table: dict[str, Any], key: str, kind: type, source: str, prefix: str,
           default: Any) -> Any:
    value = table.get(key, default)
    if value is not None and not isinstance(value, kind):
        names = {str: "a string", dict: "a table", list: "an array", bool: "true or false",
                 int: "an integer"}
        raise BoardError(source, f"{prefix}{key}",
                         f"must be {names[kind]}, not {type(value).__name__} {value!r}")
    return value


def _parse_soc(value: Any, source: str) -> Soc:
    if not isinstance(value, str):
        raise BoardError(source, "soc", f"required string; allowed: {', '.join(SOCS)}")
    try:
        return soc_by_family(value)
    except KeyError:
        raise BoardError(source, "soc",
                         f"unknown SoC {value!r}; allowed: {', '.join(SOCS)}") from None


def _valid_ids(soc: Soc) -> str:
    return ", ".join(f"{rp.rproc_id} ({rp.id_name})" for rp in soc.rprocs)


def _parse_rproc_key(soc: Soc, key: str, source: str) -> int:
    """A core key is an rproc id ("9") or its TI enum name ("M4F_MCU0_0")."""
    if key.isdigit():
        rid = int(key)
    else:
        by_name = {v: k for k, v in RPROC_ID_NAMES.items()}
        rid = by_name.get(key.upper(), -1)
    if rid not in soc.rproc_ids:
        what = f"rproc id {rid} ({RPROC_ID_NAMES[rid]})" if rid in RPROC_ID_NAMES else repr(key)
        raise BoardError(source, f"cores.{key}",
                         f"{what} is not valid on {soc.family}; allowed: {_valid_ids(soc)}")
    return rid


def _parse_core(soc: Soc, key: str, table: Any, source: str) -> CoreConfig:
    prefix = f"cores.{key}."
    if not isinstance(table, dict):
        raise BoardError(source, f"cores.{key}", "must be a table ([cores.<id>])")
    rid = _parse_rproc_key(soc, key, source)
    _check_keys(table, _CORE_KEYS, source, prefix)
    firmware = _typed(table, "firmware", str, source, prefix, "echo")
    problem = firmware_name_problem(firmware)
    if problem:
        raise BoardError(source, f"{prefix}firmware", problem)
    num_bufs = _typed(table, "num_bufs", int, source, prefix, DEFAULT_NUM_BUFS)
    if isinstance(num_bufs, bool) or not _pow2(num_bufs) or num_bufs > MAX_NUM_BUFS:
        raise BoardError(source, f"{prefix}num_bufs",
                         f"{num_bufs!r} is not allowed; a power of two from 1 to {MAX_NUM_BUFS}")
    buf_size = _typed(table, "buf_size", int, source, prefix, DEFAULT_BUF_SIZE)
    if isinstance(buf_size, bool) or not _pow2(buf_size) or not (
            MIN_BUF_SIZE <= buf_size <= MAX_BUF_SIZE):
        raise BoardError(source, f"{prefix}buf_size",
                         f"{buf_size!r} is not allowed; a power of two from {MIN_BUF_SIZE} "
                         f"(a 40-byte name-service message after the 16-byte header) to "
                         f"{MAX_BUF_SIZE} (the kernel uses {DEFAULT_BUF_SIZE})")
    return CoreConfig(
        rproc_id=rid,
        firmware=firmware,
        autostart=_typed(table, "autostart", bool, source, prefix, True),
        num_bufs=num_bufs,
        buf_size=buf_size,
        config=dict(_typed(table, "config", dict, source, prefix, {})),
        processing_us=_timing_key(table, "processing_us", source, prefix),
        irq_latency_us=_timing_key(table, "irq_latency_us", source, prefix),
        per_byte_ns=_timing_key(table, "per_byte_ns", source, prefix),
        watchdog_ms=_timing_key(table, "watchdog_ms", source, prefix, positive=True),
        faults=_faults_table(table, source, prefix),
        ipc_only=_typed(table, "ipc_only", bool, source, prefix,
                        IPC_ONLY_DEFAULT.get(soc.family) == rid),
    )


def _faults_table(table: dict[str, Any], source: str, prefix: str) -> dict[str, Any]:
    faults = _typed(table, "faults", dict, source, prefix, {})
    for key, value in faults.items():
        problem = fault_problem(key, value)
        if problem:
            raise BoardError(source, f"{prefix}faults.{key}", problem)
    return dict(faults)


def _timing_key(table: dict[str, Any], key: str, source: str, prefix: str,
                positive: bool = False) -> float | None:
    """A timing key: a finite number ≥ 0 (> 0 for the watchdog), or None when absent."""
    if key not in table:
        return None
    problem = timing_value_problem(table[key], positive=positive)
    if problem:
        raise BoardError(source, f"{prefix}{key}", f"{problem}; a finite number "
                         f"{'> 0' if positive else '≥ 0'} ({key.rsplit('_', 1)[1]})")
    return float(table[key])


def firmware_name_problem(name: str) -> str | None:
    """Why `name` cannot be a firmware name, or None. Names stay inside firmware dirs."""
    if not name:
        return "firmware name is empty"
    if "\0" in name or "\n" in name:
        return f"firmware name {name!r} contains a NUL or newline"
    if name.startswith("/") or ".." in name.split("/"):
        return f"firmware name {name!r} must be relative and must not contain '..'"
    return None


def _pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _id_number(dev: dict[str, Any], key: str, source: str) -> int:
    value = dev.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32 - 1:
        raise BoardError(source, f"dev.{key}",
                         f"{value!r} is not allowed; a numeric id from 0 to 4294967294")
    return value


def _parse_mode(value: Any, source: str) -> int:
    """Accept 0o600 (TOML octal integer) or "0600"/"600"/"0o600"; permission bits only."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o777:
        return value
    if isinstance(value, str):
        m = _MODE_RE.fullmatch(value.strip())
        if m:
            return int(m.group(1), 8)
    raise BoardError(source, "dev.mode",
                     f"{value!r} is not a permission mode; write it like \"0600\" or 0o660 "
                     "(three octal digits, no file type or special bits)")


def _firmware_dir(value: Any, base_dir: Path, source: str, index: int) -> Path:
    if not isinstance(value, str) or not value:
        raise BoardError(source, f"firmware_dirs[{index}]",
                         f"must be a non-empty path string, not {value!r}")
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir / path).resolve()
