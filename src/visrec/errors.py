"""Errors that the CLI turns into a one-line message instead of a traceback."""


class VisrecError(Exception):
    """A problem with the user's input or environment, stated in words.

    The message names the bad file/line/id and what was expected; the CLI prints it
    as ``error: <message>`` and exits with status 2.
    """


class NotFittedError(VisrecError, AttributeError):
    """An estimator method was called before ``fit``."""
