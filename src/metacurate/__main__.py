"""``python -m metacurate``: the same as the ``metacurate`` command."""

import sys

from metacurate.cli import main

if __name__ == "__main__":
    sys.exit(main())
