r"""The VR-C-LIF neuron in Brian2's equation syntax, declared once.

``VR_CLIF`` is the model; its variants are substitutions of it, not copies:

- ``CLIF``: alpha = 0, the plain current-based LIF neuron of STCA;
- ``VR_CLIF_X``: the same neuron written with X = Dm - Ds, so that a synapse writes
  one postsynaptic variable (Dm) only, as brian2genn requires.

A presynaptic spike of weight ``w`` adds ``N0*w*R`` to both Dm and Ds (see
``ON_PRE``), with R the variable resistance computed from the voltage of the previous
step, ``U_prev``; a postsynaptic spike adds ``v_thr`` to Re, undecayed at the next step
(see ``RESET``). Which slot each operation runs in is what makes the Brian2 network
equal the iterative model step for step: see :mod:`vr_brian.brian`.
"""

import sympy
from brian2 import Equations
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str
from brian2.utils.stringtools import get_identifiers, word_substitute

__all__ = ["VR_CLIF", "CLIF", "VR_CLIF_X", "ON_PRE", "ON_PRE_X", "RESET", "THRESHOLD", "PARAMETER_UNITS"]

_DYNAMICS = """
dDm/dt = -Dm/tau_m : volt                       # membrane trace of the input current
dDs/dt = -Ds/tau_s : volt                       # synaptic trace of the input current
dRe/dt = -Re/tau_m : volt                       # accumulated resets
U = Dm - Ds - Re : volt                         # membrane voltage
R = 1 - alpha*U_prev/v_thr : 1                  # variable resistance (R0 = 1), eq. 3
U_prev : volt                                   # U at the end of the previous step
N0 = (tau_m/tau_s)**(tau_m/(tau_m - tau_s))/(tau_m/tau_s - 1) : 1 (constant over dt)  # eq. 2
tau_m : second (constant)
tau_s : second (constant)
v_thr : volt (constant)
"""

#: The VR-C-LIF neuron; parameters are per-neuron constants, so one group can hold
#: neurons with different parameters (e.g. candidates of a fit).
VR_CLIF = Equations(_DYNAMICS) + Equations("alpha : 1 (constant)")

#: The C-LIF neuron: VR_CLIF with alpha = 0.
CLIF = Equations(_DYNAMICS, alpha=0)


def _x_form(model: Equations) -> Equations:
    r"""``model`` with X = Dm - Ds in place of Ds, derived symbolically.

    Substituting Ds = Dm - X into dDm/dt - dDs/dt gives

    .. math:: \frac{dX}{dt} = D_m \left(\frac{1}{\tau_s} - \frac{1}{\tau_m}\right) - \frac{X}{\tau_s},

    and into U gives U = X - Re. Dm and Ds jump together, so X never jumps and a synapse
    writes Dm alone.
    """
    Dm, Ds, X = (str_to_sympy(name) for name in ("Dm", "Ds", "X"))
    dX = (str_to_sympy(model["Dm"].expr.code) - str_to_sympy(model["Ds"].expr.code)).subs(Ds, Dm - X)
    U = str_to_sympy(model["U"].expr.code).subs(Ds, Dm - X)
    unit = model["Ds"].dim
    return (Equations(f"dX/dt = {sympy_to_str(sympy.collect(sympy.expand(dX), [Dm, X]))} : {unit!r}")
            + Equations([eq for name, eq in model.items() if name not in ("Ds", "U")])
            + Equations(f"U = {sympy_to_str(U)} : {unit!r}"))


def _inline_subexpressions(statement: str, model: Equations, suffix: str = "_post") -> str:
    """``statement`` with every ``name + suffix`` of a per-step subexpression of ``model`` replaced
    by its definition (identifiers suffixed likewise); subexpressions stored once per step
    (``constant over dt``) are left as they are. brian2genn accepts no subexpression in a
    synaptic statement."""
    inline = {name: eq for name, eq in model.items()
              if eq.type == "subexpression" and "constant over dt" not in eq.flags}
    while True:
        used = get_identifiers(statement) & {name + suffix for name in inline}
        if not used:
            return statement
        statement = word_substitute(statement, {
            used_name: "(" + word_substitute(inline[used_name[:-len(suffix)]].expr.code,
                                             {name: name + suffix for name in model.names}) + ")"
            for used_name in used})


#: VR_CLIF with X = Dm - Ds in place of Ds (derived from it by :func:`_x_form`):
#: dX/dt = Dm (1/tau_s - 1/tau_m) - X/tau_s, U = X - Re.
VR_CLIF_X = _x_form(VR_CLIF)

THRESHOLD = "U > v_thr"
#: Re jumps by v_thr/gamma_m so that, after the next step's decay, the reset counts v_thr undecayed (eq. 7).
RESET = "Re += v_thr*exp(dt/tau_m)"
ON_PRE = """
Dm_post += N0_post*w*R_post
Ds_post += N0_post*w*R_post
"""
#: ON_PRE for VR_CLIF_X: its Dm statement alone (X does not jump), with R written out, since
#: brian2genn accepts no subexpression in a synaptic statement.
ON_PRE_X = _inline_subexpressions(
    next(line.strip() for line in ON_PRE.strip().splitlines() if line.strip().startswith("Dm_post")), VR_CLIF_X)

#: Brian2 unit of each per-neuron parameter of VR_CLIF.
PARAMETER_UNITS = {"tau_m": "second", "tau_s": "second", "v_thr": "volt", "alpha": "1"}
