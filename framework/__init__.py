"""ChainSleuth core: hook specifications, plugin manager, runner, results and CLI.

The core knows no dataset, model or scenario by name: everything concrete arrives through the
hooks in :mod:`framework.hookspecs`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chainsleuth")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"
