"""The plugin's side of the libraries it drives: their errors become the framework's, and the
graph ETL's optional dependencies (the ``graph`` extra) are checked with a clear message.

:mod:`libraries.bitcoin_wire` and :mod:`libraries.graph_etl` raise their own
:class:`ValueError` subclasses; inside :func:`framework_errors` they become :class:`DataError`
(bad blocks, UTXOs, stores) or :class:`ConfigError` (bad sampling or engine parameters) with the
library's message, which the CLI prints without a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from framework.errors import ConfigError, DataError, PluginError, reraised_as
from libraries.bitcoin_wire import MalformedData
from libraries.graph_etl.errors import GraphConfigError, GraphDataError

GRAPH_EXTRA = "graph"


@contextmanager
def framework_errors() -> Iterator[None]:
    with reraised_as(ConfigError, GraphConfigError), reraised_as(DataError, MalformedData,
                                                                 GraphDataError):
        yield


def require_graph_extra(what: str, modules: tuple[str, ...] = ("duckdb",)) -> None:
    """Fail with a :class:`PluginError` naming the extra when ``what`` lacks a dependency."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise PluginError(f"{what} needs {name}, which the '{GRAPH_EXTRA}' extra installs: "
                              f"pip install 'chainsleuth[{GRAPH_EXTRA}]' (make install does)"
                              ) from exc
