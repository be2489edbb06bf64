"""The errors the graph ETL library raises (all :class:`ValueError`)."""


class GraphDataError(ValueError):
    """Blocks, UTXOs or a graph store that cannot be turned into the graph; the message names
    the block, transaction or file and says what was expected."""


class MissingHeight(GraphDataError):
    """A block states no height (its coinbase predates BIP 34) and no first height was given.
    A class of its own so that each caller can name the option that supplies the height."""


class HeightMismatch(GraphDataError):
    """A block was given another height than its parent hash implies (``given`` vs
    ``implied``), so that a caller who counted the heights from a first height it was handed
    can say which first height the parent implies."""

    def __init__(self, message: str, given: int, implied: int) -> None:
        super().__init__(message)
        self.given, self.implied = given, implied


class GraphConfigError(ValueError):
    """A sampling or engine parameter the ETL cannot work with (or a missing optional engine)."""
