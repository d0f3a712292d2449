"""The encoding figure: one panel per part, labelled axes, written as a PNG."""

import matplotlib

matplotlib.use("Agg")

import numpy as np

from vr_brian.encoding.plot import plot_encodings


def test_figure_has_waveform_levels_and_rasters(tmp_path):
    rng = np.random.default_rng(0)
    rasters = {"spikegram": rng.random((100, 8)) < 0.05, "level crossing": rng.random((100, 8)) < 0.1}
    figure = plot_encodings(
        rng.normal(size=1600),
        16000.0,
        rng.normal(-20, 5, (100, 8)),
        rasters,
        1e-3,
        np.geomspace(100, 6000, 8),
        title="noise",
    )
    axes = figure.axes[:4]
    assert len(figure.axes) == 5 and figure.axes[4].get_ylabel() == "level (dB)"  # 4 panels + colour bar
    assert axes[-1].get_xlabel() == "time (s)"
    assert axes[2].get_title(loc="left") == f"spikegram: {rasters['spikegram'].sum()} spikes"
    figure.savefig(tmp_path / "encoding.png")
    assert (tmp_path / "encoding.png").stat().st_size > 1000
