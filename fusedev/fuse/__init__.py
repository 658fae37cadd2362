"""The FUSE engine: libfuse3's low-level API bound with cffi, driven by trio, and the vfs."""
