"""Allow `python -m jaxrnn`."""

import sys

from jaxrnn.cli import entry_point

sys.exit(entry_point())
