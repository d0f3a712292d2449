r"""The VR-C-LIF neuron in Brian2's equation syntax, declared once.

``VR_CLIF`` is the model; its variants are substitutions of it, not copies:

- ``CLIF``: alpha = 0, the plain current-based LIF neuron of STCA;
- ``VR_CLIF_X``: the same neuron written with X = Dm - Ds, so that a synapse writes
  one postsynaptic variable (Dm) only, as brian2genn requires;
- ``VR_CLIF_BOUNDED``: R clipped to [0, R_max] (variant "bounded" of :class:`~vr_brian.VRParams`);
- ``VR_CLIF_SPLIT``: a second resistance ``R_inh = 1 - U_prev/E_inh`` that inhibitory synapses
  (w < 0) use instead of R, i.e. a reversal potential E_inh of their own (variant "split",
  with ``ON_PRE_SPLIT``).

:func:`neuron_model` picks the equations and the synaptic statement of a
:class:`~vr_brian.VRParams` in either form, and :func:`set_parameters` sets a group's
per-neuron constants from it.

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

__all__ = [
    "VR_CLIF",
    "CLIF",
    "VR_CLIF_X",
    "VR_CLIF_BOUNDED",
    "VR_CLIF_SPLIT",
    "ON_PRE",
    "ON_PRE_X",
    "ON_PRE_SPLIT",
    "RESET",
    "THRESHOLD",
    "U_PREV_UPDATE",
    "U_WHEN",
    "PARAMETER_UNITS",
    "FORMS",
    "neuron_model",
    "synaptic_statement",
    "set_parameters",
    "ON_STEP",
    "VR_CLIF_CURRENT",
]

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
    return (
        Equations(f"dX/dt = {sympy_to_str(sympy.collect(sympy.expand(dX), [Dm, X]))} : {unit!r}")
        + Equations([eq for name, eq in model.items() if name not in ("Ds", "U")])
        + Equations(f"U = {sympy_to_str(U)} : {unit!r}")
    )


def _inline_subexpressions(statement: str, model: Equations, suffix: str = "_post") -> str:
    """``statement`` with every ``name + suffix`` of a per-step subexpression of ``model`` replaced
    by its definition (identifiers suffixed likewise); subexpressions stored once per step
    (``constant over dt``) are left as they are. brian2genn accepts no subexpression in a
    synaptic statement."""
    inline = {
        name: eq for name, eq in model.items() if eq.type == "subexpression" and "constant over dt" not in eq.flags
    }
    while True:
        used = get_identifiers(statement) & {name + suffix for name in inline}
        if not used:
            return statement
        statement = word_substitute(
            statement,
            {
                used_name: "("
                + word_substitute(
                    inline[used_name[: -len(suffix)]].expr.code, {name: name + suffix for name in model.names}
                )
                + ")"
                for used_name in used
            },
        )


#: VR_CLIF with X = Dm - Ds in place of Ds (derived from it by :func:`_x_form`):
#: dX/dt = Dm (1/tau_s - 1/tau_m) - X/tau_s, U = X - Re.
VR_CLIF_X = _x_form(VR_CLIF)


def _bounded(model: Equations) -> Equations:
    """``model`` with its resistance clipped to [0, R_max]: R's own expression, wrapped."""
    return Equations([eq for name, eq in model.items() if name != "R"]) + Equations(
        f"R = clip({model['R'].expr.code}, 0, R_max) : 1  # variable resistance, bounded\nR_max : 1 (constant)"
    )


#: VR_CLIF with R clipped to [0, R_max] (variant "bounded").
VR_CLIF_BOUNDED = _bounded(VR_CLIF)

#: VR_CLIF with a resistance of its own for inhibitory synapses, reversal potential E_inh
#: (variant "split"; ON_PRE_SPLIT picks R or R_inh by the sign of the weight).
VR_CLIF_SPLIT = VR_CLIF + Equations("""
R_inh = 1 - U_prev/E_inh : 1                    # resistance of inhibitory input
E_inh : volt (constant)                         # its reversal potential
""")

THRESHOLD = "U > v_thr"
#: U_prev keeps the voltage of the step for R(t) of the next one (run it in the U_WHEN slot).
U_PREV_UPDATE = "U_prev = U"
#: The scheduling slot in which a group holds U(t) of the iterative model: after every input of the
#: step, before its reset. U_prev is copied and state monitors record there; in Brian2's default
#: 'start' slot a monitor sees the previous step after its reset.
U_WHEN = "before_resets"
#: Re jumps by v_thr/gamma_m so that, after the next step's decay, the reset counts v_thr undecayed (eq. 7).
RESET = "Re += v_thr*exp(dt/tau_m)"
ON_PRE = """
Dm_post += N0_post*w*R_post
Ds_post += N0_post*w*R_post
"""
#: ON_PRE for VR_CLIF_SPLIT: inhibitory weights (w < 0) see R_inh instead of R.
ON_PRE_SPLIT = word_substitute(ON_PRE, {"R_post": "(int(w > 0*volt)*R_post + int(w < 0*volt)*R_inh_post)"})


def _x_on_pre(on_pre: str, model: Equations) -> str:
    """The Dm statement of ``on_pre`` alone (X does not jump), with the subexpressions of ``model``
    written out, since brian2genn accepts no subexpression in a synaptic statement."""
    return _inline_subexpressions(
        next(line.strip() for line in on_pre.strip().splitlines() if line.strip().startswith("Dm_post")), model
    )


#: ON_PRE for VR_CLIF_X.
ON_PRE_X = _x_on_pre(ON_PRE, VR_CLIF_X)

#: Neuron forms: "standard" (Dm and Ds both jump) and "x" (X = Dm - Ds, the GeNN-ready form).
FORMS = ("standard", "x")

_VARIANT_MODELS = {"paper": VR_CLIF, "bounded": VR_CLIF_BOUNDED, "split": VR_CLIF_SPLIT}


def synaptic_statement(model: Equations) -> str:
    """The on_pre statement of a synapse onto neurons of ``model``: ON_PRE, ON_PRE_SPLIT where
    the model has R_inh, and the one-variable X-form statement where it has X."""
    on_pre = ON_PRE_SPLIT if "R_inh" in model.names else ON_PRE
    return _x_on_pre(on_pre, model) if "X" in model.names else on_pre


def neuron_model(params, form: str = "standard", *, clif_at_alpha0: bool = True) -> tuple:
    """The (equations, on_pre statement) of the variant of ``params`` in ``form``.

    Parameters
    ----------
    params : VRParams
        Its ``variant`` picks VR_CLIF, VR_CLIF_BOUNDED or VR_CLIF_SPLIT.
    form : {"standard", "x"}
        "x" rewrites the model with X = Dm - Ds (:func:`_x_form`) and the statement to one
        postsynaptic variable.
    clif_at_alpha0 : bool
        For the paper's model at alpha = 0, the C-LIF equations (no dead alpha term in the
        generated code; the group then has no ``alpha`` to set).
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    model = _VARIANT_MODELS[params.variant]
    if clif_at_alpha0 and params.variant == "paper" and params.alpha == 0:
        model = CLIF
    if form == "x":
        model = _x_form(model)
    return model, synaptic_statement(model)


def set_parameters(group, params) -> None:
    """Set the per-neuron constants of ``group`` (tau_m, tau_s, v_thr and those of its equations:
    alpha, R_max, E_inh) from ``params``."""
    from brian2 import second, volt

    group.tau_m = params.tau_m * second
    group.tau_s = params.tau_s * second
    group.v_thr = params.v_thr * volt
    names = group.variables
    if "alpha" in names:
        group.alpha = params.alpha
    if "R_max" in names:
        group.R_max = params.r_max
    if "E_inh" in names:
        group.E_inh = params.inhibitory_reversal * volt


#: Brian2 unit of each per-neuron parameter of VR_CLIF.
PARAMETER_UNITS = {"tau_m": "second", "tau_s": "second", "v_thr": "volt", "alpha": "1", "R_max": "1", "E_inh": "volt"}


# -- current injection: an input form of VR_CLIF ---------------------------------------------------
#: The input of one step, ``I`` (volts: the weight of a synapse that fired in this step), scaled by R
#: and added to Dm and Ds: ON_PRE with the neuron's own variables, T(t) = N0*I(t)*R(t) of MODEL.md.
#: It runs in the 'thresholds' slot before the threshold test, where synaptic input arrives.
ON_STEP = word_substitute(ON_PRE.replace("_post", ""), {"w": "I"})

#: VR_CLIF driven by an injected current ``I_inj`` (amp), which the caller defines, e.g.
#: ``Equations("I_inj = injected(t) : amp")`` with ``injected`` a TimedArray. The charge of a step,
#: I_inj*dt, enters as the weight R_in*I_inj*dt/(N0*(tau_m - tau_s)): at alpha = 0 a constant current
#: then settles at U = R_in*I_inj (to a relative 1 - dt**2/(12*tau_m*tau_s), since the iterative
#: sums 1/(1 - gamma) = tau/dt + 1/2 + dt/(12*tau) + ... cancel to that order), so R_in is the input
#: resistance at rest and R_in*R(t) = R_in*(1 - alpha*U_prev/v_thr) the effective one: the paper's
#: voltage-dependent resistance, in ohms.
VR_CLIF_CURRENT = VR_CLIF + Equations("""
I = R_in*I_inj*dt/(N0*(tau_m - tau_s)) : volt   # the step's injected charge as a synaptic weight
R_in : ohm (constant)                           # input resistance at rest
""")
