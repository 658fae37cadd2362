"""Firmwares that ship with rpmsg-emu, by name → module. Each is an ordinary SDK user."""

BUILTIN_FIRMWARES = {
    "echo": "remote_fw.builtin.echo",
    "sink": "remote_fw.builtin.sink",
    "source": "remote_fw.builtin.source",
    "sample": "remote_fw.builtin.sample",
    "dmabuf_checksum": "remote_fw.builtin.dmabuf_checksum",
}
