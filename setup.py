"""Only what setup.cfg cannot say: the cffi extension built against the system's libfuse3."""
from setuptools import setup

setup(cffi_modules=["fusedev/fuse/fuse_build.py:ffibuilder"])
