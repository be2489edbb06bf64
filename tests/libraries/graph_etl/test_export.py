"""The degree plot: a PNG from a plain matplotlib Figure, whatever backend the caller uses."""

import matplotlib

from libraries.graph_etl.export import degree_plot


def test_degree_plot_is_a_png_and_leaves_the_callers_backend_alone():
    previous = matplotlib.get_backend()
    matplotlib.use("svg")  # a notebook's or a script's own choice
    try:
        png = degree_plot({"out": {1: 30, 2: 8, 5: 1}, "in": {1: 25, 3: 4}})
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(previous)
