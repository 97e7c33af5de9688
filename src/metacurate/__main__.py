"""``python -m metacurate``: the same as the ``metacurate`` command."""

from metacurate.cli import run

if __name__ == "__main__":
    run()
