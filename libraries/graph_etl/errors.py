"""The errors the graph ETL library raises (both :class:`ValueError`)."""


class GraphDataError(ValueError):
    """Blocks, UTXOs or a graph store that cannot be turned into the graph; the message names
    the block, transaction or file and says what was expected."""


class GraphConfigError(ValueError):
    """A sampling or engine parameter the ETL cannot work with (or a missing optional engine)."""
