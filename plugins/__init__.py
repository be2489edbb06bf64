"""Built-in ChainSleuth plugins.

Each module is registered through the ``chainsleuth`` entry-point group declared in
``pyproject.toml``, exactly as a third-party plugin package would be; nothing in ``framework``
imports from here.
"""
