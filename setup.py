"""Only what setup.cfg cannot say: the cffi extensions (the FUSE binding against the system's
libfuse3, and remote_fw's vrings, which need no library)."""
from setuptools import setup

setup(cffi_modules=["fusedev/fuse/fuse_build.py:ffibuilder", "remote_fw/vring_build.py:ffibuilder"])
