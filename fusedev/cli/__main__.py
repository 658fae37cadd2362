"""`python -m fusedev.cli`: the rpmsg-emu command."""
import sys

from fusedev.cli.main import main

sys.exit(main())
