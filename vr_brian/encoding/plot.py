"""One figure per clip that a person can check: waveform, cochleagram, and each encoder's spikes."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_encodings"]


def plot_encodings(
    audio, sample_rate: float, levels_db, rasters: dict, dt: float, centres, title: str = "", floor_db: float = -40.0
):
    """Draw a clip, its gammatone levels and spike rasters on a shared time axis.

    Parameters
    ----------
    audio : (samples,) array
    levels_db : (steps, channels) array
        Envelope levels (:meth:`FilterbankEncoder.levels`), drawn as an image.
    rasters : dict of str to (steps, channels) bool
        Spike arrays by encoder name, one panel each.
    dt : float
        Step of ``levels_db`` and the rasters, s.
    centres : (channels,) array
        Channel centre frequencies, Hz (labels of the frequency axis).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    audio = np.asarray(audio)
    centres = np.asarray(centres)
    n_panels = 2 + len(rasters)
    figure = Figure(figsize=(9, 2.0 + 1.9 * n_panels))
    grid = figure.add_gridspec(
        n_panels, 2, width_ratios=[40, 1], wspace=0.03, height_ratios=[0.6] + [1] * (n_panels - 1)
    )
    axes = [figure.add_subplot(grid[0, 0])]
    axes += [figure.add_subplot(grid[i, 0], sharex=axes[0]) for i in range(1, n_panels)]
    time = np.arange(len(audio)) / sample_rate
    axes[0].plot(time, audio, lw=0.4, color="0.2")
    axes[0].set_ylabel("amplitude")
    axes[0].set_title(title)
    n_steps, n_channels = np.asarray(levels_db).shape
    extent = (0, n_steps * dt, -0.5, n_channels - 0.5)
    image = axes[1].imshow(
        np.maximum(np.asarray(levels_db).T, floor_db),
        aspect="auto",
        origin="lower",
        extent=extent,
        cmap="magma",
        interpolation="nearest",
    )
    figure.colorbar(image, cax=figure.add_subplot(grid[1, 1]), label="level (dB)")
    axes[1].set_title("gammatone envelope level", fontsize=9, loc="left")
    for ax, (name, raster) in zip(axes[2:], rasters.items(), strict=True):
        steps, channels = np.nonzero(np.asarray(raster))
        ax.scatter((steps + 0.5) * dt, channels, s=3, marker="|", color="tab:blue", linewidths=0.8)
        ax.set_ylim(-0.5, n_channels - 0.5)
        ax.set_title(f"{name}: {len(steps)} spikes", fontsize=9, loc="left")
    ticks = np.unique(np.linspace(0, n_channels - 1, min(n_channels, 6)).round().astype(int))
    for ax in axes[1:]:
        ax.set_yticks(ticks)
        ax.set_yticklabels([f"{centres[t]:.0f}" for t in ticks])
        ax.set_ylabel("channel centre (Hz)")
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("time (s)")
    axes[0].set_xlim(0, max(len(audio) / sample_rate, n_steps * dt))
    return figure
