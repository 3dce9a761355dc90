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
depths at 10 kHz (61 µm) and radius that plus w₀, 10 nm cells at the top, 0.25 µm at the
axis out to 10 µm, growth 1.2 (~5000 triangles); RT2×P1DG (~40k DOFs); pump on top,
bottom at T̂ = 0, outer wall insulated.

Measured (f = 10 kHz … 20 MHz, 7 frequencies; 2–6 s on a shared core): amplitude error
≤ 1.9e-4 (≤ 3e-5 above 30 kHz), phase ≤ 0.0013°. With a buried 1 µm layer (κ = 1.4,
C = 1.6e6) behind a second interface (R = 2e-9): amplitude ≤ 6.6e-5, phase ≤ 0.004°.
RT0×P0 on the same mesh (slow test): amplitude +0.8 … +1.6 %, phase ≤ 0.10° (first order
in the radial cell size at the axis; 0.5–0.7 % with 0.125 µm cells there). TDTR (f_mod =
10 MHz, f_rep = 80 MHz, f_max = 1 GHz: 51 harmonics interpolated from a 24-point sweep,
18k DOFs, depth 3.5 δ at f_mod, radius 4 w₀; delays 0.1–10 ns, ratio 4.0 … 0.31): ratio
−V_in/V_out within 0.24 %.
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


def _sample(radius, depth, thicknesses, names, degree, htop=10e-9):
    rm = layered_cylinder(radius, [*thicknesses, depth - sum(thicknesses)], names,
                          axis_mesh_size=0.25e-6, uniform_radius=2 * W0, top_mesh_size=htop,
                          mesh_size=radius / 8, growth=1.2)
    return rm


def _fdtr_stack(buried: bool, degree: int = 1):
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
    rm = _sample(L + W0, L, [d for d, _, _ in layers], names, degree)
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
    result, ref = _fdtr_stack(False, degree=0)
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
    rm = _sample(4 * W0, depth, [FILM[0]], ["film", "substrate"], 1)
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
