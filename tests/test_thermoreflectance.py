r"""FDTR and TDTR on an axisymmetric layered stack against the classical Hankel-transform
transfer-matrix solution (Cahill, Rev. Sci. Instrum. 75, 5119 (2004); Schmidt, Cheaito &
Chiesa, Rev. Sci. Instrum. 79, 114902 (2008)), computed here independently with scipy.

Reference (fields ∝ e^{iωt}): in each layer the Hankel-transformed temperature θ and
downward flux F obey [θ; F]_bottom = M [θ; F]_top with
M = [[cosh qd, −sinh qd/(κq)], [−κq sinh qd, cosh qd]], q = √(k² + iωC/κ), and a Kapitza
interface [[1, −R_K], [0, 1]]. With N the product from the top down and a semi-infinite
substrate (F = κ_s q_s θ at its top), the surface Green function is
G(k) = −(N₂₂ − κ_s q_s N₁₂)/(N₂₁ − κ_s q_s N₁₁) (= −D/C of Cahill's product for a thick
substrate), and the probe temperature T = (P/2π) ∫ G(k) exp(−k²(w₀²+w₁²)/8) k dk
(Gauss–Legendre in k). TDTR: Cahill's in/out form
V_in = ½Σₖ[H(ω₀+kωₛ) + H(−ω₀+kωₛ)]e^{ikωₛt}, V_out = −½iΣₖ[H(ω₀+kωₛ) − H(−ω₀+kωₛ)]e^{ikωₛt}
with the same convergence factor, evaluated with the exact H at every harmonic.

Sample: Al film 80 nm (κ = 200 W/(m K), C = 2.42e6 J/(m³ K)), R_K = 1e-8 m² K/W,
sapphire (35, 3.06e6); w₀ = w₁ = 5 µm. FEM: ``layered_cylinder`` of depth 3.2 penetration
depths at 10 kHz (61 µm) and radius that plus w₀; pump on top, bottom at T̂ = 0, outer
wall insulated; RT2×P1DG. Default mesh: 0.5 µm cells at the axis out to 10 µm, 20 nm at
the top, growth 1.3 (1.8k triangles, 15k DOFs); fine: 0.25 µm, 10 nm, 1.2 (5k, 40k).

Measured (f = 10 kHz … 20 MHz, 7 frequencies): default mesh amplitude error ≤ 2.9e-4,
phase ≤ 0.011°; with a buried 1 µm layer (κ = 1.4, C = 1.6e6) behind a second interface
(R = 2e-9) ≤ 1.6e-4, ≤ 0.034°; fine mesh ≤ 1.9e-4 (3e-5 above 30 kHz), ≤ 0.0012°.
RT0×P0 on the fine mesh (slow test): amplitude +0.8 … +1.6 %, phase ≤ 0.10° (first order
in the radial cell size at the axis). TDTR (f_mod = 10 MHz, f_rep = 80 MHz, f_max =
1 GHz: 51 harmonics interpolated from a 24-point sweep, fine mesh, depth 3.5 δ at f_mod,
radius 4 w₀, 18k DOFs; delays 0.1–10 ns, ratio 4.0 … 0.31): ratio −V_in/V_out within
0.24 %. Times: 1–3 s per test on an idle core (up to 10× that on the shared machine).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import roots_legendre

import femheat as fh
from femheat.analysis import thermoreflectance as tr
from femheat.errors import FemheatInputError
from femheat.mesh.geometry import layered_cylinder

FILM = (80e-9, 200.0, 2.42e6)        # d [m], kappa, C
SUBSTRATE = (35.0, 3.06e6)
BURIED = (1e-6, 1.4, 1.6e6)
RK = 1e-8
W0 = W1 = 5e-6


def reference_response(freqs, layers, resistances, substrate, w0, w1, power=1.0, nk=3000):
    """Probe temperature [K] of the layered half-space (module docstring)."""
    a = (w0 ** 2 + w1 ** 2) / 8
    kmax = np.sqrt(46 / a)  # exp(-a k^2) = 1e-20 there
    x, wq = roots_legendre(nk)
    k, wq = 0.5 * kmax * (x + 1), 0.5 * kmax * wq
    out = []
    for f in np.atleast_1d(freqs):
        omega = 2 * np.pi * f
        N = np.broadcast_to(np.eye(2, dtype=complex), (k.size, 2, 2)).copy()
        for i, (d, kap, C) in enumerate(layers):
            q = np.sqrt(k ** 2 + 1j * omega * C / kap)
            ch, sh = np.cosh(q * d), np.sinh(q * d)
            M = np.empty_like(N)
            M[:, 0, 0], M[:, 0, 1] = ch, -sh / (kap * q)
            M[:, 1, 0], M[:, 1, 1] = -kap * q * sh, ch
            N = M @ N
            if i < len(resistances):
                N = np.array([[1, -resistances[i]], [0, 1]], dtype=complex) @ N
        kap, C = substrate
        q = np.sqrt(k ** 2 + 1j * omega * C / kap)
        G = -(N[:, 1, 1] - kap * q * N[:, 0, 1]) / (N[:, 1, 0] - kap * q * N[:, 0, 0])
        out.append(power / (2 * np.pi) * np.sum(wq * k * G * np.exp(-a * k ** 2)))
    return np.array(out)


def _sample(radius, depth, thicknesses, names, fine=True):
    """Graded (r, z) stack: fine = 0.25 µm at the axis, 10 nm at the top, growth 1.2;
    coarse = 0.5 µm, 20 nm, 1.3."""
    hax, htop, growth = (0.25e-6, 10e-9, 1.2) if fine else (0.5e-6, 20e-9, 1.3)
    return layered_cylinder(radius, [*thicknesses, depth - sum(thicknesses)], names,
                            axis_mesh_size=hax, uniform_radius=2 * W0, top_mesh_size=htop,
                            mesh_size=radius / 8, growth=growth)


def _fdtr_stack(buried: bool, degree: int = 1, fine: bool = False):
    f = np.logspace(4, np.log10(2e7), 7)
    L = 3.2 * tr.penetration_depth(*SUBSTRATE, f[0])
    if buried:
        layers, res = [FILM, BURIED], [RK, 2e-9]
        names = ["film", "buried", "substrate"]
        mats = {"film": fh.Material(FILM[1], FILM[2], 0.0),
                "buried": fh.Material(BURIED[1], BURIED[2], 0.0),
                "substrate": fh.Material(*SUBSTRATE, 0.0)}
        kap = {"interface_1": fh.KapitzaResistance(RK),
               "interface_2": fh.KapitzaResistance(2e-9)}
    else:
        layers, res = [FILM], [RK]
        names = ["film", "substrate"]
        mats = {"film": fh.Material(FILM[1], FILM[2], 0.0),
                "substrate": fh.Material(*SUBSTRATE, 0.0)}
        kap = {"interface_1": fh.KapitzaResistance(RK)}
    rm = _sample(L + W0, L, [d for d, _, _ in layers], names, fine)
    problem = tr.fdtr_problem(rm, mats, kap, pump_radius=W0, degree=degree)
    system = fh.assemble(problem)
    result = tr.fdtr_sweep(system, f, W1, pump_radius=W0)
    ref = reference_response(f, layers, res, SUBSTRATE, W0, W1)
    return result, ref


@pytest.mark.parametrize("buried", [False, True])
def test_fdtr_matches_transfer_matrix(buried):
    result, ref = _fdtr_stack(buried)
    amp = np.abs(result.amplitude / np.abs(ref) - 1)
    phase = np.abs(result.phase - np.degrees(np.angle(ref)))
    assert amp.max() < 5e-3, f"amplitude errors {amp}"
    assert phase.max() < 0.2, f"phase errors (deg) {phase}"
    # the observable is a real FDTR curve: the amplitude falls, the phase lags
    assert np.all(np.diff(result.amplitude) < 0) and np.all(result.phase < 0)


@pytest.mark.slow
def test_fdtr_degree0_first_order():
    """RT0×P0 on the same mesh: measured 1.57 % / 0.10° (first order at the axis)."""
    result, ref = _fdtr_stack(False, degree=0, fine=True)
    assert np.abs(result.amplitude / np.abs(ref) - 1).max() < 2e-2
    assert np.abs(result.phase - np.degrees(np.angle(ref))).max() < 0.15


def _tdtr_reference(delays, fmod, frep, fmax):
    M = int(np.ceil(2 * fmax / frep))
    k = np.arange(-M, M + 1)

    def H(f):
        h = reference_response(np.abs(f), [FILM], [RK], SUBSTRATE, W0, W1)
        return np.where(f < 0, np.conj(h), h)

    w = np.exp(-np.pi * (k * frep / fmax) ** 2)
    Hp, Hm = H(fmod + k * frep), H(-fmod + k * frep)
    E = np.exp(2j * np.pi * frep * np.outer(delays, k))
    v_in = (E @ (w * (Hp + Hm)) / 2).real
    v_out = (E @ (-0.5j * w * (Hp - Hm))).real
    return v_in, v_out


def test_tdtr_ratio_matches_transfer_matrix():
    fmod, frep, fmax = 10e6, 80e6, 1e9
    delays = np.array([0.1, 0.3, 1.0, 2.0, 4.0, 10.0]) * 1e-9
    depth = 3.5 * tr.penetration_depth(*SUBSTRATE, fmod)
    rm = _sample(4 * W0, depth, [FILM[0]], ["film", "substrate"])
    mats = {"film": fh.Material(FILM[1], FILM[2], 0.0), "substrate": fh.Material(*SUBSTRATE, 0.0)}
    system = fh.assemble(tr.fdtr_problem(rm, mats, {"interface_1": fh.KapitzaResistance(RK)},
                                         pump_radius=W0, degree=1))
    sweep = tr.tdtr_sweep_frequencies(fmod, frep, fmax, points=24)
    fdtr = tr.fdtr_sweep(system, sweep, W1, pump_radius=W0)
    sig = tr.tdtr_signals(tr.interpolate_response(sweep, fdtr.response), delays, fmod, frep,
                          fmax)
    v_in, v_out = _tdtr_reference(delays, fmod, frep, fmax)
    err = np.abs(sig.ratio / (-v_in / v_out) - 1)
    assert err.max() < 1e-2, f"ratio errors {err}"
    assert np.all(sig.out_of_phase < 0)


def test_thermoreflectance_bad_input():
    rm = layered_cylinder(20e-6, [80e-9, 20e-6], axis_mesh_size=1e-6, mesh_size=4e-6)
    mats = {"film": fh.Material(200.0, 2.42e6, 0.0), "substrate": fh.Material(35.0, 3.06e6, 0.0)}
    with pytest.raises(FemheatInputError, match=r"fdtr\.pump_radius = 3e-05 m is larger than "
                                                r"the sample radius"):
        tr.check_fdtr_setup(rm, mats, [1e6], 30e-6, 5e-6)
    with pytest.raises(FemheatInputError, match=r"fdtr\.frequencies: the sample is 2\.008e-05 m "
                                                r"deep.*must be at least 3 penetration depths"
                                                r" = 5\.7\d*e-05 m deep"):
        tr.check_fdtr_setup(rm, mats, [1e4, 1e6], 5e-6, 5e-6)
    with pytest.raises(FemheatInputError, match=r"fdtr\.frequencies must be > 0"):
        tr.check_fdtr_setup(rm, mats, [0.0, 1e6], 5e-6, 5e-6)
    with pytest.raises(FemheatInputError, match=r"fdtr\.frequencies must be > 0"):
        tr.check_fdtr_setup(rm, mats, [-1e6], 5e-6, 5e-6)
    with pytest.raises(FemheatInputError, match=r"tdtr\.modulation_frequency"):
        tr.tdtr_harmonics(50e6, 80e6, 1e9)
    H = tr.interpolate_response([1e6, 1e7], [1.0 + 0j, 0.5 - 0.1j])
    with pytest.raises(FemheatInputError, match=r"extend tdtr\.frequencies"):
        tr.tdtr_signals(H, [1e-9], 1e6, 80e6, 1e9)


def _case_table():
    from femheat.io.case import read_case_table
    from tests.conftest import ROOT

    path = ROOT / "cases" / "thermoreflectance.toml"
    return read_case_table(path), path.parent


@pytest.mark.slow
def test_thermoreflectance_case(tmp_path):
    """cases/thermoreflectance.toml through the runner, with a coarser sweep and no
    field files: the probe column against the reference, tdtr.csv, the energy audit
    (~30 s on a shared core)."""
    from femheat.io.case import parse_case
    from femheat.pipeline.runner import run_case
    table, base = _case_table()
    table["frequency"]["frequencies"]["points"] = 14
    table["output"] = {"vtu": False, "png": False}
    summary = run_case(parse_case(table, base), tmp_path)
    assert summary["status"] == "completed"
    assert summary["energy_balance_relative_error"] < 1e-10
    rows = summary["frequency"]["table"]
    f = np.array([r["frequency"] for r in rows])
    fem = np.array([r["probe_temperature"]["amplitude"] for r in rows])
    ref = reference_response(f, [FILM], [RK], SUBSTRATE, W0, W1)
    assert np.abs(fem / np.abs(ref) - 1).max() < 5e-3
    lines = (tmp_path / "tdtr.csv").read_text().splitlines()
    assert lines[0] == "delay_s,in_phase,out_of_phase,ratio" and len(lines) == 10
    delays = np.array(table["frequency"]["tdtr"]["delays"])
    v_in, v_out = _tdtr_reference(delays, 10e6, 80e6, 1e9)
    # 14 sweep points over 5.3 decades: the interpolation, not the FEM, sets this bound
    assert np.abs(np.array(summary["tdtr"]["ratio"]) / (-v_in / v_out) - 1).max() < 3e-2


def test_thermoreflectance_case_file():
    """The case parses into an axisymmetric pumped problem; its errors name the keys
    (pump on a Cartesian mesh, a sweep missing TDTR harmonics, a pump wider than the
    sample, a condition on the pumped surface)."""
    import copy

    from femheat.io.case import parse_case

    table, base = _case_table()
    case = parse_case(table, base)
    assert case.problem.axisymmetric and case.frequency.tdtr["delays"].size == 9
    path = base / "thermoreflectance.toml"
    bad = copy.deepcopy(table)
    bad["mesh"]["coordinates"] = "cartesian"
    with pytest.raises(FemheatInputError, match=r"frequency\.fdtr.*coordinates"):
        parse_case(bad, path.parent)
    bad = copy.deepcopy(table)
    bad["frequency"]["frequencies"]["to"] = 1e9
    with pytest.raises(FemheatInputError, match=r"must cover the TDTR harmonics"):
        parse_case(bad, path.parent)
    bad = copy.deepcopy(table)
    bad["frequency"]["fdtr"]["pump_radius"] = 1e-4
    with pytest.raises(FemheatInputError, match=r"frequency\.fdtr\.pump_radius = 0\.0001 m"):
        parse_case(bad, path.parent)
    bad = copy.deepcopy(table)
    bad["boundaries"]["top"] = {"heat_flux": 0.0}
    with pytest.raises(FemheatInputError, match=r"boundaries\.top: its condition is the pump"):
        parse_case(bad, path.parent)
