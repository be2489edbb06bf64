"""Errors a user can act on.

Every error raised for bad input derives from :class:`ChainSleuthError`; the CLI prints its
message without a traceback, so each message must name the file, field or plugin at fault and
say what was expected.
"""


class ChainSleuthError(Exception):
    """Base class of every user-facing error."""


class PluginError(ChainSleuthError):
    """A plugin failed to load, collided with another, or was asked for by an unknown name."""


class ConfigError(ChainSleuthError):
    """A configuration value is missing, unknown or of the wrong type."""


class DataError(ChainSleuthError):
    """A data file is missing, unreadable or not in the expected layout."""
