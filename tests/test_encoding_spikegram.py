"""Matching pursuit: recovery of known atoms, rising SNR, agreement with a brute-force pursuit,
the compiled loop against the numpy loop; atoms kept per clip and expanded into input neurons."""

import numpy as np
import pytest

from vr_brian.encoding import pursuit
from vr_brian.encoding.cached import atoms_cached, encode_cached
from vr_brian.encoding.gammatone import GammatoneDictionary
from vr_brian.encoding.spikegram import (
    AtomSet,
    Spikegram,
    SpikegramEncoder,
    correlations,
    matching_pursuit,
    reconstruct,
    spike_raster,
)

PATHS = [
    pytest.param(False, id="numpy"),
    pytest.param(True, id="compiled", marks=pytest.mark.skipif(not pursuit.COMPILED, reason="needs numba")),
]

RATE = 16000.0
DICTIONARY = GammatoneDictionary(16, 150.0, 5000.0, RATE)


def place(atoms, n):
    k = DICTIONARY.kernels
    signal = np.zeros(n + k.shape[1])
    for c, tau, a in atoms:
        signal[tau : tau + k.shape[1]] += a * k[c]
    return signal[:n]


def brute_force_pursuit(signal, kernels, n_atoms):
    """Matching pursuit recomputing every correlation from scratch at every step."""
    length = kernels.shape[1]
    residual = np.concatenate([signal, np.zeros(length - 1)])
    chosen = []
    for _ in range(n_atoms):
        corr = np.array([[residual[t : t + length] @ k for t in range(len(signal))] for k in kernels])
        c, t = np.unravel_index(np.argmax(np.abs(corr)), corr.shape)
        a = corr[c, t]
        residual[t : t + length] -= a * kernels[c]
        chosen.append((int(c), int(t), a))
    return chosen


def test_known_atoms_are_recovered():
    rng = np.random.default_rng(5)
    n = 16000
    channels = rng.choice(16, 6, replace=False)
    positions = np.sort(rng.choice(np.arange(0, n - DICTIONARY.length, 900), 6, replace=False))
    amplitudes = rng.uniform(0.5, 2.0, 6) * rng.choice([-1, 1], 6)
    atoms = list(zip(channels, positions, amplitudes, strict=True))
    result = matching_pursuit(place(atoms, n), DICTIONARY, max_atoms=6)
    found = sorted(zip(result.channel, result.position, result.amplitude, strict=True))
    expected = sorted(atoms)
    assert [(c, t) for c, t, _ in found] == [(c, t) for c, t, _ in expected]
    np.testing.assert_allclose([a for *_, a in found], [a for *_, a in expected], rtol=1e-3)
    assert result.snr_db[-1] > 40


def test_snr_rises_with_atoms_and_matches_the_reconstruction():
    rng = np.random.default_rng(0)
    t = np.arange(8000) / RATE
    signal = np.sin(2 * np.pi * 440 * t) * np.exp(-t / 0.2) + 0.3 * rng.normal(size=len(t)) * (t < 0.05)
    result = matching_pursuit(signal, DICTIONARY, max_atoms=300)
    assert len(result) == 300
    assert np.all(np.diff(result.snr_db) >= 0)
    snrs = []
    for k in (10, 50, 300):
        partial = type(result)(
            result.channel[:k], result.position[:k], result.amplitude[:k], result.snr_db[:k], result.n_samples
        )
        residual = signal - reconstruct(partial, DICTIONARY)
        snrs.append(10 * np.log10(np.sum(signal**2) / np.sum(residual**2)))
    assert snrs[0] < snrs[1] < snrs[2]
    # the tail of late atoms past the clip end is not in the clip's residual: allow a little
    assert snrs[2] == pytest.approx(result.snr_db[-1], abs=0.5)


@pytest.mark.parametrize("compiled", PATHS)
def test_agrees_with_brute_force_pursuit(compiled):
    rng = np.random.default_rng(1)
    small = GammatoneDictionary(4, 500.0, 3000.0, RATE)
    signal = rng.normal(size=700)
    fast = matching_pursuit(signal, small, max_atoms=12, compiled=compiled)
    slow = brute_force_pursuit(signal, small.kernels, 12)
    assert list(zip(fast.channel, fast.position, strict=True)) == [(c, t) for c, t, _ in slow]
    np.testing.assert_allclose(fast.amplitude, [a for *_, a in slow], rtol=1e-9, atol=1e-12)


def test_stops_at_the_snr_target_and_on_silence():
    t = np.arange(4000) / RATE
    result = matching_pursuit(np.sin(2 * np.pi * 1000 * t), DICTIONARY, max_atoms=1000, snr_db=10)
    assert result.snr_db[-1] >= 10 and result.snr_db[-2] < 10
    assert len(matching_pursuit(np.zeros(100), DICTIONARY)) == 0
    with pytest.raises(ValueError, match="max_atoms"):
        matching_pursuit(np.ones(10), DICTIONARY, max_atoms=0)
    with pytest.raises(ValueError, match="finite"):
        matching_pursuit(np.array([0.0, np.nan, 1.0]), DICTIONARY)


def test_spike_raster_bins_atom_starts():
    atoms = Spikegram(np.array([3, 3, 7, 2]), np.array([100, 110, 1700, 3199]), np.ones(4), np.ones(4), 3200)
    raster = spike_raster(atoms, 16, RATE, dt=1e-3)  # 16 samples per step
    assert raster.shape == (200, 16) and raster.dtype == bool
    assert set(zip(*np.nonzero(raster), strict=True)) == {
        (6, 3),
        (106, 7),
        (199, 2),
    }  # two atoms in one step: one spike
    assert spike_raster(atoms, 16, RATE, dt=1e-3, n_steps=150).sum() == 2  # the atom at step 199 dropped


def test_encoder_gives_steps_by_channels_bool():
    encoder = SpikegramEncoder(n_channels=16, f_low=150.0, f_high=5000.0, max_atoms=50, snr_db=None)
    rng = np.random.default_rng(2)
    audio = rng.normal(size=(2, 4000))
    spikes = encoder.encode(audio)
    assert spikes.shape == (2, 250, 16) and spikes.dtype == bool
    assert 0 < spikes[0].sum() <= 50
    np.testing.assert_array_equal(encoder.encode(audio, n_jobs=2), spikes)  # workers change nothing
    with pytest.raises(ValueError, match="dt"):
        SpikegramEncoder(dt=0)


# -- the compiled loop, its tables, the correlations -------------------------------------------


def test_supports_and_support_cross_correlations_match_the_dense_ones():
    d = GammatoneDictionary(7, 120.0, 4000.0, RATE)
    k, supports = d.kernels, d.supports
    for c in range(7):
        assert k[c, supports[c] - 1] != 0 and not k[c, supports[c] :].any()
    values, offsets = d.support_cross_correlations()
    dense, length = d.cross_correlations, d.length
    for s in range(7):
        for c in range(7):
            lags = np.arange(-(supports[c] - 1), supports[s])
            stored = values[offsets[s, c] + lags + supports[c] - 1]
            np.testing.assert_allclose(stored, dense[s, c, lags + length - 1], atol=1e-12)
            outside = np.setdiff1d(np.arange(-(length - 1), length), lags)
            assert np.abs(dense[s, c, outside + length - 1]).max() < 1e-12  # nothing dropped
    assert offsets[-1, -1] + supports[-1] * 2 - 1 == len(values)


def test_correlations_are_the_direct_sums():
    d = GammatoneDictionary(5, 200.0, 3000.0, RATE)
    x = np.random.default_rng(4).normal(size=900)
    out = correlations(x, d, columns=960)
    padded = np.concatenate([x, np.zeros(d.length)])
    for c, p in [(0, 0), (2, 450), (4, 899), (1, 17)]:
        assert out[c, p] == pytest.approx(padded[p : p + d.length] @ d.kernels[c], abs=1e-10)
    assert out.shape == (5, 960) and not out[:, 900:].any()


@pytest.mark.skipif(not pursuit.COMPILED, reason="needs numba")
@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_compiled_loop_selects_the_atoms_of_the_numpy_loop(precision):
    d = GammatoneDictionary(24, 40.0, 7000.0, RATE)
    t = np.arange(6000) / RATE
    rng = np.random.default_rng(8)
    signal = (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 1330 * t)) * np.exp(-t / 0.15) + 0.05 * rng.normal(
        size=len(t)
    )
    fast = matching_pursuit(signal, d, 400, snr_db=None, precision=precision, compiled=True)
    slow = matching_pursuit(signal, d, 400, snr_db=None, precision=precision, compiled=False)
    np.testing.assert_array_equal(fast.channel, slow.channel)
    np.testing.assert_array_equal(fast.position, slow.position)
    np.testing.assert_allclose(fast.amplitude, slow.amplitude, rtol=1e-9 if precision == "float64" else 1e-5)
    # float32 pursuit ends at the float64 SNR to a few hundredths of a dB
    reference = slow if precision == "float64" else matching_pursuit(signal, d, 400, None, "float64", False)
    assert fast.snr_db[-1] == pytest.approx(reference.snr_db[-1], abs=0.05)


def test_encoder_atoms_reconstruct_to_their_reported_snr():
    encoder = SpikegramEncoder(
        n_channels=32, f_low=20.0, f_high=7000.0, max_atoms=300, snr_db=None, precision="float32"
    )
    t = np.arange(8000) / RATE
    clip = np.sin(2 * np.pi * 330 * t) * np.exp(-t / 0.3) + 0.4 * np.sin(2 * np.pi * 2200 * t) * (t > 0.2)
    atoms = encoder.atoms(clip[None])
    gram = atoms.spikegram(0)
    residual = clip - reconstruct(gram, encoder.dictionary)
    snr = 10 * np.log10(np.sum(clip**2) / np.sum(residual**2))
    assert snr > 15 and snr == pytest.approx(atoms.snr_db[0], abs=0.5)


# -- atoms per clip and their expansion into input neurons -------------------------------------


def random_atoms(rng, n_clips=4, n_channels=6, n_samples=1600):
    counts = rng.integers(0, 40, n_clips).astype(np.int32)
    k = int(counts.sum())
    return AtomSet(
        counts,
        rng.integers(0, n_channels, k).astype(np.int16),
        rng.integers(0, n_samples, k).astype(np.int32),
        (rng.choice([-1, 1], k) * np.exp(rng.normal(-2, 1, k))).astype(np.float32),
        rng.uniform(5, 20, n_clips),
        n_samples,
    )


def expand_loop(encoder, atoms):
    """Every atom placed by hand, one at a time."""
    per_step = encoder.dt * encoder.sample_rate
    n_steps = int(np.ceil(atoms.n_samples / per_step - 1e-9))
    out = np.zeros((len(atoms), n_steps, encoder.n_inputs), dtype=bool)
    i = 0
    for clip, count in enumerate(atoms.counts):
        for _ in range(count):
            c, tau, a = int(atoms.channel[i]), int(atoms.position[i]), float(atoms.amplitude[i])
            i += 1
            if encoder.mapping == "channels":
                places = [(tau, c)]
            elif encoder.mapping == "levels":
                level = sum(1 for edge in encoder.level_edges if np.log(abs(a)) >= edge)
                places = [(tau, c * encoder.copies + level)]
            else:
                places = [
                    (tau + k * encoder.delay * encoder.sample_rate, c * encoder.copies + k)
                    for k in range(encoder.copies)
                ]
            for sample, neuron in places:
                step = int(np.floor(sample / per_step + 1e-9))
                if step < n_steps:
                    out[clip, step, neuron] = True
    return out


@pytest.mark.parametrize("mapping", ["channels", "levels", "delays"])
def test_expansion_matches_a_loop(mapping):
    rng = np.random.default_rng(11)
    atoms = random_atoms(rng)
    encoder = SpikegramEncoder(n_channels=6, f_low=100.0, f_high=4000.0, dt=3e-3, mapping=mapping, delay=0.02)
    if mapping == "levels":
        encoder = encoder.fit_levels(atoms)
    spikes = encoder.expand(atoms)
    assert spikes.shape == (4, 34, 6 if mapping == "channels" else 18) and spikes.dtype == bool
    np.testing.assert_array_equal(spikes, expand_loop(encoder, atoms))
    if mapping == "delays":  # late atoms lose their shifted copies past the clip's end
        assert spikes[..., 2::3].sum() < spikes[..., 0::3].sum()


def test_channels_mapping_is_the_spike_raster_of_each_clip():
    atoms = random_atoms(np.random.default_rng(2))
    encoder = SpikegramEncoder(n_channels=6, f_low=100.0, f_high=4000.0, dt=1e-3)
    spikes = encoder.expand(atoms)
    for clip in range(len(atoms)):
        np.testing.assert_array_equal(spikes[clip], spike_raster(atoms.spikegram(clip), 6, RATE, 1e-3, 100))


def test_fitted_levels_split_the_training_atoms_into_equal_shares():
    atoms = random_atoms(np.random.default_rng(5), n_clips=30)
    encoder = SpikegramEncoder(n_channels=6, f_low=100.0, f_high=4000.0, mapping="levels", copies=3).fit_levels(atoms)
    levels = np.array([sum(np.log(abs(float(a))) >= e for e in encoder.level_edges) for a in atoms.amplitude])
    shares = np.bincount(levels, minlength=3) / len(levels)
    np.testing.assert_allclose(shares, 1 / 3, atol=2 / len(levels))
    assert tuple(encoder.settings()["level_edges"]) == encoder.level_edges and len(encoder.level_edges) == 2


def test_atom_set_round_trip_and_subset():
    atoms = random_atoms(np.random.default_rng(9), n_clips=5)
    again = AtomSet.from_arrays(atoms.arrays())
    for name in ("counts", "channel", "position", "amplitude", "snr_db"):
        np.testing.assert_array_equal(getattr(again, name), getattr(atoms, name))
    part = atoms.subset([3, 1])
    for new, old in ((0, 3), (1, 1)):
        a, b = part.spikegram(new), atoms.spikegram(old)
        np.testing.assert_array_equal(a.position, b.position)
        np.testing.assert_array_equal(a.channel, b.channel)
    assert len(atoms.subset(np.zeros(5, dtype=bool))) == 0


def test_atoms_are_cached_once_for_every_mapping(tmp_path):
    rng = np.random.default_rng(3)
    audio = rng.normal(size=(2, 1200)).astype(np.float32)
    base = dict(n_channels=8, f_low=100.0, f_high=4000.0, max_atoms=30, snr_db=None)
    first = atoms_cached(SpikegramEncoder(**base), audio, tmp_path)
    delays = SpikegramEncoder(**base, mapping="delays", delay=0.004, dt=2e-3)
    spikes = encode_cached(delays, audio, tmp_path)
    assert not first.manifest["reused"] and len(list(tmp_path.glob("atoms_spikegram-*.npz"))) == 1
    np.testing.assert_array_equal(spikes, delays.encode(audio))
    assert atoms_cached(delays, audio, tmp_path).manifest["reused"]


def test_bad_encoder_settings_are_named():
    for settings, match in [
        ({"mapping": "octaves"}, "mapping"),
        ({"mapping": "levels", "copies": 1}, "copies"),
        ({"mapping": "delays"}, "delay"),
        ({"mapping": "levels", "level_edges": (0.1,)}, "level_edges"),
        ({"mapping": "channels", "level_edges": (0.1, 0.2)}, "level_edges"),
        ({"precision": "float16"}, "precision"),
        ({"max_atoms": 0}, "max_atoms"),
        ({"f_high": 9000.0}, "f_high"),
    ]:
        with pytest.raises(ValueError, match=match):
            SpikegramEncoder(**settings)
    with pytest.raises(ValueError, match="fit"):
        SpikegramEncoder(mapping="levels").expand(random_atoms(np.random.default_rng(0)))
    with pytest.raises(ValueError, match="n_jobs"):
        SpikegramEncoder().atoms(np.ones((1, 100)), n_jobs=0)


def test_cached_atoms_can_be_looked_up_without_building(tmp_path):
    audio = np.random.default_rng(6).normal(size=(1, 800))
    encoder = SpikegramEncoder(n_channels=4, f_low=300.0, f_high=3000.0, max_atoms=5, snr_db=None)
    assert atoms_cached(encoder, audio, tmp_path, build=False) is None
    built = atoms_cached(encoder, audio, tmp_path)
    found = atoms_cached(encoder, audio, tmp_path, build=False)
    assert found.manifest["reused"] and np.array_equal(found.position, built.position)
