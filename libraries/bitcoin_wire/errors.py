"""The one error the wire-format library raises."""


class MalformedData(ValueError):
    """Bytes (or JSON) that are not a valid serialisation; the message names the source and
    where, and says what was expected."""
