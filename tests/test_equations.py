from brian2 import ms, volt
from brian2.units.fundamentalunits import DIMENSIONLESS

from vr_brian.equations import CLIF, VR_CLIF, VR_CLIF_X


def test_every_variable_has_a_unit():
    expected = {"Dm": volt, "Ds": volt, "Re": volt, "U": volt, "U_prev": volt, "tau_m": ms, "tau_s": ms, "v_thr": volt}
    for name, unit in expected.items():
        assert VR_CLIF[name].dim is unit.dim, name
    assert VR_CLIF["R"].dim is DIMENSIONLESS and VR_CLIF["alpha"].dim is DIMENSIONLESS


def test_clif_is_vr_clif_with_alpha_zero():
    assert "alpha" not in CLIF.names and "alpha" in VR_CLIF.names
    assert str(CLIF["R"].expr).replace(" ", "") == "1-(0)*U_prev/v_thr"
    assert set(CLIF.names) == set(VR_CLIF.names) - {"alpha"}


def test_x_form_has_one_jumping_variable():
    assert "Ds" not in VR_CLIF_X.names and "X" in VR_CLIF_X.names
    assert set(VR_CLIF_X.diff_eq_names) == {"Dm", "X", "Re"}
