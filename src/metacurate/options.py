"""How an option is declared: :func:`option` (a dataclass field whose metadata holds its help,
flag, choices and parser; ``cli_flags`` turns it into a flag) and :class:`ConfigError` (a bad
value, named as a parameter for the API and as a flag for the CLI). The options themselves are
the fields of the config classes in :mod:`metacurate.config`."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from metacurate.errors import MetacurateError


def option(
    default: Any = None,
    help: str = "",
    *,
    flag: str | None = None,
    short: str | None = None,
    choices: tuple[str, ...] | None = None,
    parse: str | None = None,
    metavar: str | None = None,
    group: str | None = None,
    cli_default: str | None = None,
    cli: bool = True,
) -> Any:
    """A config field and its command-line flag in one place.

    ``help`` is the flag's help (``{default}`` is filled in); ``flag`` the flag name when it is
    not ``--field-name``; ``parse`` names a parser of ``cli_flags.PARSERS`` (``int``,
    ``float``, ``columns`` ...; default: from the field's type); ``group`` puts the flag in a
    required mutually exclusive group of that name; ``cli_default`` names a default that only
    the CLI uses (``cli_flags.CLI_DEFAULTS``); ``cli=False`` keeps the field out of the CLI.
    """
    meta = {
        "help": help,
        "flag": flag,
        "short": short,
        "choices": choices,
        "parse": parse,
        "metavar": metavar,
        "group": group,
        "cli_default": cli_default,
        "cli": cli,
    }
    return field(default=default, metadata=meta)


class ConfigError(MetacurateError):
    """A bad option value; ``field`` is the config field it names."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.detail = message
        super().__init__(f"{field_name}: {message}")

    def for_flag(self) -> str:
        """The same message naming the command-line flag."""
        return f"--{self.field.replace('_', '-')}: {self.detail}"
