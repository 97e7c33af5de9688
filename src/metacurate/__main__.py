"""The ``metacurate`` command (its console script) and ``python -m metacurate``. Its first
step, before it imports the CLI (~0.3 s of modules), records Ctrl-C (``interrupts.py``): one
pressed while they load ends the command as interrupted, not with Python's traceback or not
at all."""

from metacurate.interrupts import record_from_start


def run() -> None:
    record_from_start()
    from metacurate.cli import run as command

    command()


if __name__ == "__main__":
    run()
