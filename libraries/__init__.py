"""Libraries below the plugins: plain Python packages with no hook implementations.

Each library imports neither :mod:`framework` nor :mod:`plugins` (a test over every module
checks it) and loads without Hydra or torch, so it can be used, tested and benchmarked on its
own. A library reports bad input with its own error classes (subclasses of :class:`ValueError`);
the plugin that calls it turns them into the framework's user-facing errors with the same message.
"""
