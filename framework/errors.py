"""Errors a user can act on.

Every error raised for bad input derives from :class:`ChainSleuthError`; the CLI prints its
message without a traceback, so each message must name the file, field or plugin at fault and
say what was expected.
"""

from collections.abc import Iterator
from contextlib import contextmanager


class ChainSleuthError(Exception):
    """Base class of every user-facing error."""


class PluginError(ChainSleuthError):
    """A plugin failed to load, collided with another, or was asked for by an unknown name."""


class ConfigError(ChainSleuthError):
    """A configuration value is missing, unknown or of the wrong type."""


class DataError(ChainSleuthError):
    """A data file is missing, unreadable or not in the expected layout."""


@contextmanager
def reraised_as(error: type[ChainSleuthError],
                *causes: type[Exception]) -> Iterator[None]:
    """Turn a library's own errors (``causes``) into ``error`` with the same message.

    Libraries below the plugins do not import the framework; they raise their own classes
    (``MalformedData``, ...). A plugin wraps its calls in ``with reraised_as(DataError, ...)``
    so the user sees the framework's error, printed without a traceback, worded by the library.
    """
    try:
        yield
    except causes as exc:
        raise error(str(exc)) from exc
