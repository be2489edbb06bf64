"""The errors the simulation library raises."""


class SimulationConfigError(ValueError):
    """A simulator parameter is out of range; the message names it and the allowed range."""


class MalformedEvents(ValueError):
    """A relay event log does not follow the schema of :mod:`.relay_events`."""
