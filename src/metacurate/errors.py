"""The one error type for user mistakes (bad flags, files, columns, metadata)."""


class MetacurateError(Exception):
    """A mistake the user can fix; the message says what, where and how.

    The CLI prints it as one line on stderr and exits with status 2. Anything else that
    escapes is a bug and keeps its traceback.
    """
