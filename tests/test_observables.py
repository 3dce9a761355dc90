"""Flash and transient-grating observables (issue 11 item 5) against exact solutions.

Flash: the rear-face rise of an insulated slab after a pulse absorbed in its front
layer g = L/10 (cases/flash_gk.toml): Fourier against Parker's series (finite
absorption depth) to 0.5 % of the plateau, MCV against the exact telegraph (modal)
solution, GK against its modal solution, the Fourier limit of GK/MCV as tau, l -> 0,
a two-mode memory against the modal Laplace solution, and a Kapitza bilayer.
Grating: the decay trace of cases/memory_grating.toml against the exact modal solution.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from femheat.analysis.observables import (flash_rear_face, grating_decay, parker_rise,
                                          slab_modal_rise)
from femheat.io.case import load_case, parse_case, read_case_table

CASES = Path(__file__).resolve().parents[1] / "cases"
L, ALPHA, C, Q, G = 1e-5, 1e-5, 1e6, 2.0, 1e-6
PLATEAU = Q / (C * L)


W, A = 1.5e-6, 2.0  # a smooth (Gaussian) pulse for the wave-like laws: m, K
_X = np.linspace(0, L, 20001)
GAUSS = np.array([2 / L * np.trapezoid(A * np.exp(-(_X / W) ** 2) * np.cos(n * np.pi * _X / L), _X)
                  for n in range(1, 200)])
GAUSS_PLATEAU = float(np.trapezoid(A * np.exp(-(_X / W) ** 2), _X) / L)


def _flash(model: str, gaussian: bool = False, **material):
    table = read_case_table(CASES / "flash_gk.toml")
    table.pop("fit")
    if gaussian:  # the exact solution has a sharp front behind a top-hat pulse
        table["initial"]["temperature"] = f"300 + {A}*exp(-(x/{W})**2)"
        table["time"]["dt"] = 1e-8  # CFL c dt/h = 0.3 for the thermal wave
        table["mesh"]["parameters"] |= {"n_length": 100, "height": 1e-7}  # square cells
    table["model"] = {"type": model, "degree": 0} | ({"beta": 2} if model == "gk" else {})
    mat = table["materials"]["medium"]
    for k in ("relaxation_time", "nonlocal_length"):
        mat.pop(k)
    mat.update(material)
    return flash_rear_face(parse_case(table, CASES))


def _rel(a, b):
    return float(np.abs(a - b).max() / PLATEAU)


def test_fourier_flash_matches_parker():
    tr = _flash("fourier")
    err = _rel(tr.signal, parker_rise(tr.time, L, ALPHA, layer=G, areal_energy=Q,
                                      heat_capacity=C))
    assert err < 5e-3, f"Fourier flash vs Parker: {err:.2e} of the plateau"
    assert abs(tr.signal[-1] - PLATEAU) < 1e-3 * PLATEAU


def test_parker_series_limits():
    t = np.array([0.1388 * L**2 / ALPHA])  # Parker's half-rise time (g -> 0)
    assert abs(parker_rise(t, L, ALPHA, terms=2000)[0] * L - 0.5) < 1e-3  # plateau 1/L
    # the modal solution with tau = l = 0 is Parker's series
    tt = np.linspace(1e-7, 2e-5, 50)
    assert np.allclose(slab_modal_rise(tt, L, ALPHA, layer=G, areal_energy=Q, heat_capacity=C),
                       parker_rise(tt, L, ALPHA, layer=G, areal_energy=Q, heat_capacity=C),
                       atol=1e-9)


def test_mcv_flash_matches_exact_telegraph_solution():
    tr = _flash("mcv", gaussian=True, relaxation_time=1e-6)
    ref = slab_modal_rise(tr.time, L, ALPHA, relaxation_time=1e-6, coefficients=GAUSS)
    err = float(np.abs(tr.signal - ref).max()) / GAUSS_PLATEAU
    assert err < 1e-2, f"MCV flash vs telegraph solution: {err:.2e} of the plateau"
    assert tr.signal.max() > 1.2 * GAUSS_PLATEAU  # the thermal wave overshoots


def test_gk_flash_matches_modal_solution():
    tr = flash_rear_face(load_case(CASES / "flash_gk.toml"))
    ref = slab_modal_rise(tr.time, L, ALPHA, relaxation_time=1e-6, nonlocal_length=1e-6,
                          beta=2, layer=G, areal_energy=Q, heat_capacity=C)
    err = _rel(tr.signal, ref)
    assert err < 5e-3, f"GK flash vs modal solution: {err:.2e} of the plateau"


@pytest.mark.parametrize("model", ["mcv", "gk"])
def test_fourier_limit_of_mcv_and_gk(model):
    extra = {"nonlocal_length": 1e-10} if model == "gk" else {}
    tr = _flash(model, relaxation_time=1e-12, **extra)
    ref = parker_rise(tr.time, L, ALPHA, layer=G, areal_energy=Q, heat_capacity=C)
    assert _rel(tr.signal, ref) < 5e-3


def _memory_modal_rise(t, modes):
    """Rear-face rise of a multi-mode slab: residues of a0/(s + k^2 kappa(s)/C)."""
    P = np.polynomial.polynomial
    out = np.zeros_like(t)
    for n, a0 in enumerate(GAUSS, start=1):
        k = n * np.pi / L
        N = np.array([1.0])
        for _, tau in modes:
            N = P.polymul(N, [1.0, tau])
        D = P.polymul([0.0, 1.0], N)
        for i, (kap, _) in enumerate(modes):
            Ni = np.array([1.0])
            for j, (_, tau) in enumerate(modes):
                if j != i:
                    Ni = P.polymul(Ni, [1.0, tau])
            D = P.polyadd(D, k * k / C * kap * Ni)
        a = np.real(sum(P.polyval(s, N) / P.polyval(s, P.polyder(D)) * np.exp(s * t)
                        for s in P.polyroots(D)))
        out += (-1) ** n * a0 * (a - 1.0)
    return out


def test_memory_flash_matches_modal_solution():
    modes = [(4.0, 2e-7), (6.0, 2e-6)]
    tr = _flash("memory", gaussian=True,
                modes=[{"conductivity": k, "relaxation_time": t} for k, t in modes])
    err = float(np.abs(tr.signal - _memory_modal_rise(tr.time, modes)).max()) / GAUSS_PLATEAU
    assert err < 1e-2, f"two-mode flash vs modal solution: {err:.2e}"


def _bilayer(resistance: float):
    table = {
        "mesh": {"builder": "layered_stack",
                 "parameters": {"thicknesses": [L / 2, L / 2], "height": 4e-7,
                                "mesh_size": 2e-7}},
        "model": {"type": "mcv", "degree": 0},
        "materials": {n: {"conductivity": 10.0, "heat_capacity": C, "relaxation_time": 1e-9}
                      for n in ("layer_1", "layer_2")},
        "interfaces": {"interface_1": {"kapitza_resistance": resistance}},
        "boundaries": {b: {"heat_flux": 0.0} for b in ("left", "right", "top", "bottom")},
        "initial": {"temperature": f"300 + {Q / G}/1e6*heaviside({G} - x, 0.5)"},
        "time": {"dt": 1e-7, "end": 3e-5, "theta": 0.5},
        "output": {"png": False, "vtu": False},
    }
    return flash_rear_face(parse_case(table, CASES))


def test_kapitza_flash_delays_the_rise_and_conserves_energy():
    thin, thick = _bilayer(1e-12), _bilayer(5e-7)  # R_K vs L/kappa = 1e-6 m^2 K/W
    ref = parker_rise(thin.time, L, ALPHA, layer=G, areal_energy=Q, heat_capacity=C)
    assert _rel(thin.signal, ref) < 2e-2
    half = [np.interp(0.5 * PLATEAU, tr.signal, tr.time) for tr in (thin, thick)]
    assert half[1] > 1.2 * half[0]
    # lumped two-node limit: the rise is still Q/(C L) at the end (energy conserved)
    assert abs(thick.signal[-1] - PLATEAU) < 2e-2 * PLATEAU


def test_memory_grating_trace_matches_exact():
    from tests.test_memory_modes import exact_grating

    case = load_case(CASES / "memory_grating.toml")
    tr = grating_decay(case)
    assert abs(tr.info["period"] - np.pi) < 1e-12
    modes = [(0.5, 0.05), (1.0, 0.3), (0.5, 1.5)]
    err = np.abs(tr.signal - exact_grating(tr.time, modes)).max()
    assert err < 2e-3, f"grating trace vs exact: {err:.2e}"
