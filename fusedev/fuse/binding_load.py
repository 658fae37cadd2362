"""Why the FUSE binding cannot be imported, said in one line that names what to install.

The binding (`fusedev.fuse._fuse_cffi`) is a compiled module linked against libfuse3.so.3. A wheel
bundles that library; a source install uses the system's, and then a machine without the fuse3
package fails the import deep inside the emulator. The CLI turns that into one line.
"""
from __future__ import annotations

BINDING = "fusedev.fuse._fuse_cffi"


def binding_load_error(exc: ImportError) -> str | None:
    """The message for an import failure of the binding, or None if `exc` is about something else."""
    if exc.name != BINDING and "libfuse3" not in str(exc):
        return None
    if isinstance(exc, ModuleNotFoundError):
        return (f"the FUSE binding {BINDING} is not built: run scripts/setup.sh in a checkout, "
                "or install rpmsg-emu from its wheel")
    return (f"cannot load libfuse3 ({exc.msg}): install the fuse3 package "
            "(Debian/Ubuntu: apt-get install fuse3; Fedora: dnf install fuse3)")
