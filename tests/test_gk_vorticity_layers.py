r"""The 2D vorticity form where ν = l²/κ jumps between materials
(femheat.assembly.vorticity_levels).

Reference: a slab of layers y_0 < y_1 < … < y_N (κ_i, l_i), insulated free-slip sides
x = 0, 1, T_D = cos πx on top and 0 at the bottom (open boundaries), steady, no
source. With T = θ(y) cos πx, q = (u(y) sin πx, w(y) cos πx), ∇·q = 0 gives u = −w'/π
and GK (DESIGN's gradient energy) in each layer (D² − π²)(l²(D² − π²) − 1) w = 0:
w = A cosh πy + B sinh πy + C cosh sy + D sinh sy, s² = π² + 1/l², and
θ = (u − l²(u'' − π²u))/(κπ). At each interface q is continuous (w, w'), so is the
tangential traction (ν u', i.e. ν w''), and the normal one jumps by the Kapitza term:
(θ − νw')_below − (θ − νw')_above = R w; at the ends θ − νw' = T_D (the outward normal
±y) and w'' = 0. T jumps where l²/κ does. A layer with l = 0 obeys Fourier's law
(w = A cosh πy + B sinh πy, θ = u/(κπ)); its flux lies in H(div) alone, so next to it
the gradient energy has no tangential condition to hold: q_n and the normal traction
are continuous as before, and the viscous side's tangential traction vanishes (w'' = 0),
an open boundary of the viscous region.

Measured (two layers l = 0.3 | 0.12, κ = 1 | 2, relative L2 errors at n = 4 / 8 / 16 /
32 cells across the unit width):

* degree 1: q 6.4e-3 / 9.9e-4 / 1.3e-4 / 1.5e-5 (order 3.06), T 3.3e-2 … 5.2e-4 (2.00);
  the penalty form q 7.5e-3 … 2.1e-5, T 3.3e-2 … 5.4e-4;
* degree 0: q 4.3e-2 / 1.2e-2 / 3.2e-3 / 7.9e-4 (2.00), T 0.25 … 3.2e-2 (1.00);
* with R = 0.5 at the interface: degree 1 q 1.5e-5, T 5.2e-4 at n = 32 (penalty 2.1e-5,
  5.4e-4);
* three layers (ν 0.0072 | 0.09 | 0.027 bottom to top: three levels, the middle
  layer's pieces take their own trace, the others the middle's): degree 1 q 5.1e-3 /
  6.9e-4 / 8.5e-5 / 1.0e-5 (order 3.04), T 4.7e-4 at n = 32 (penalty q 1.4e-5, T
  5.1e-4); degree 0 q 1.2e-2 / 3.1e-3 / 7.6e-4 at n = 8 / 16 / 32, T 3.0e-2 (penalty
  9.1e-4, 3.1e-2);
* a curved interface (a quarter shell, radial flow): the heat flow at O(h²)
  (``test_curved_interface_contact_resistance``);
* one vorticity with the cell-mean ν (the form before the levels): q 2.4e-2 and T
  2.8e-2 at every n: [ν rot q] = 0 is another interface model;
* trace choice: the split vorticity taking the mean of the two sides' tangential traces
  (instead of the larger ν's side) left a consistency error ½(ν_a − ν_b)∂q_t/∂n [v·t]
  and q at O(h) (2.5e-4 at n = 32, degree 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import skfem

import femheat as fh

PI = math.pi


def _basis(y: float, s: float, d: int) -> np.ndarray:
    """d-th derivatives of (cosh πy, sinh πy, cosh sy, sinh sy)."""
    out = []
    for k in (PI, s):
        even = d % 2 == 0
        out += [k**d * (math.cosh(k * y) if even else math.sinh(k * y)),
                k**d * (math.sinh(k * y) if even else math.cosh(k * y))]
    return np.array(out)


class Layers:
    """The layered slab's exact solution (module doc). ``edges`` y_0 … y_N, ``layers``
    [(κ, l)] bottom to top, ``resistance`` R at every interface, ``free``: Kapitza
    interfaces with a free tangential flux (no tangential traction on either side)."""

    def __init__(self, edges, layers, resistance: float = 0.0, free: bool = False):
        self.edges, self.layers = np.asarray(edges, float), layers
        # l = 0: Fourier's law, w = A cosh πy + B sinh πy (C = D = 0)
        self.s = [math.sqrt(PI**2 + 1 / ell**2) if ell > 0 else 0.0 for _, ell in layers]
        n = len(layers)
        rows, rhs = [], []

        def row(i, vec):
            r = np.zeros(4 * n)
            r[4 * i:4 * i + 4] = vec
            return r

        def theta_minus_nu_dw(i, y):
            kappa, ell = layers[i]
            u, u2 = -_basis(y, self.s[i], 1) / PI, -_basis(y, self.s[i], 3) / PI
            theta = (u - ell**2 * (u2 - PI**2 * u)) / (kappa * PI)
            return theta - ell**2 / kappa * _basis(y, self.s[i], 1)

        y0, yN = self.edges[0], self.edges[-1]
        rows += [row(n - 1, theta_minus_nu_dw(n - 1, yN)), row(0, theta_minus_nu_dw(0, y0))]
        rhs += [1.0, 0.0]
        rows += [row(i, _basis(y, self.s[i], 2))  # stress-free ends
                 for i, y in ((n - 1, yN), (0, y0)) if layers[i][1] > 0]
        rows += [row(i, np.eye(4)[j]) for i in range(n) for j in (2, 3)
                 if layers[i][1] == 0]  # C = D = 0 where l = 0
        rhs += [0.0] * (len(rows) - len(rhs))
        for i in range(n - 1):
            y = self.edges[i + 1]
            nu_a, nu_b = (ell**2 / kappa for kappa, ell in layers[i:i + 2])
            rows.append(row(i, _basis(y, self.s[i], 0)) - row(i + 1, _basis(y, self.s[i + 1], 0)))
            if nu_a > 0 and nu_b > 0 and not free:  # q_t and the tangential traction continuous
                rows.append(row(i, _basis(y, self.s[i], 1))
                            - row(i + 1, _basis(y, self.s[i + 1], 1)))
                rows.append(row(i, nu_a * _basis(y, self.s[i], 2))
                            - row(i + 1, nu_b * _basis(y, self.s[i + 1], 2)))
            else:  # free, or next to l = 0: no tangential traction on a viscous side (open)
                rows += [row(j, _basis(y, self.s[j], 2)) for j in (i, i + 1)
                         if layers[j][1] > 0]
            rows.append(row(i, theta_minus_nu_dw(i, y) - resistance * _basis(y, self.s[i], 0))
                        - row(i + 1, theta_minus_nu_dw(i + 1, y)))
            rhs += [0.0] * (len(rows) - len(rhs))
        self.c = np.linalg.solve(np.array(rows), np.array(rhs)).reshape(n, 4)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, q) at points (x, y), each point taken in the layer of its y."""
        layer = np.clip(np.searchsorted(self.edges, y) - 1, 0, len(self.layers) - 1)
        theta, u, w = (np.zeros(y.shape) for _ in range(3))
        for i, (kappa, ell) in enumerate(self.layers):
            m = layer == i
            yy = y[m]
            b = [np.array([_basis(v, self.s[i], d) for v in yy]).reshape(-1, 4) @ self.c[i] for d in range(4)]
            uu, u2 = -b[1] / PI, -b[3] / PI
            theta[m], u[m], w[m] = (uu - ell**2 * (u2 - PI**2 * uu)) / (kappa * PI), uu, b[0]
        return theta * np.cos(PI * x), np.array([u * np.sin(PI * x), w * np.cos(PI * x)])


TWO = ([-1.0, 0.0, 1.0], [(1.0, 0.3), (2.0, 0.12)])
#: the middle layer's ν largest: three levels, the middle's pieces see both sides
THREE = ([-1.0, -0.25, 0.5, 1.0], [(2.0, 0.12), (1.0, 0.3), (1.5, 0.2)])
#: a GK film on a Fourier (l = 0) layer
ON_FOURIER = ([-1.0, 0.0, 1.0], [(2.0, 0.0), (1.0, 0.3)])


def _open_sides(edges, layers, resistance: float, free: bool):
    """T_D on the sides x = 0, 1 made open boundaries: there q_x = 0 and ∂q_y/∂x = 0, so
    the reference meets T − ν∂q_n/∂n = T_D with ∂q_n/∂n = ∂q_x/∂x = πu cos πx."""
    ref = Layers(edges, layers, resistance, free)
    nu = np.array([ell**2 / kappa for kappa, ell in layers])

    def value(x, t):
        y, shape = np.ravel(x[1]), np.shape(x[0])
        T, _ = ref(np.ravel(x[0]), y)
        u = ref(np.full(y.shape, 0.5), y)[1][0]  # q_x = u sin πx
        layer = np.clip(np.searchsorted(ref.edges, y) - 1, 0, len(layers) - 1)
        return (T - nu[layer] * PI * u * np.cos(PI * np.ravel(x[0]))).reshape(shape)
    return fh.Temperature(value)


def _slab(n: int, edges, layers, resistance: float = 0.0, degree: int = 1,
          viscous: str = "auto", free: bool = False, open_sides: bool = False):
    """The slab meshed with n cells across its unit width and n per unit height (the
    interfaces on mesh lines), and its problem; ``open_sides``: heat crosses the sides
    (:func:`_open_sides`)."""
    ys = np.concatenate([np.linspace(a, b, round(n * (b - a)) + 1)[:-1]
                         for a, b in zip(edges[:-1], edges[1:])] + [[edges[-1]]])
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), ys)
    names = [f"layer{i}" for i in range(len(layers))]
    subdomains = {name: (lambda x, a=a, b=b: (x[1] > a) & (x[1] < b))
                  for name, a, b in zip(names, edges[:-1], edges[1:])}
    interfaces = ({f"if{i}": (lambda x, y=y: np.isclose(x[1], y))
                   for i, y in enumerate(edges[1:-1])} if resistance or free else None)
    rm = fh.RegionMesh.from_skfem(mesh, subdomains=subdomains, interfaces=interfaces, boundaries={
        "top": lambda x: np.isclose(x[1], edges[-1]),
        "bottom": lambda x: np.isclose(x[1], edges[0]),
        "sides": lambda x: np.isclose(x[0], 0) | np.isclose(x[0], 1)})
    materials = {name: fh.Material(kappa, 1.0, 0.0, nonlocal_length=ell)
                 for name, (kappa, ell) in zip(names, layers)}
    return fh.HeatProblem(
        rm, materials, {"top": fh.Temperature(lambda x, t: np.cos(PI * x[0])),
                        "bottom": fh.Temperature(0.0),
                        "sides": (_open_sides(edges, layers, resistance, free) if open_sides
                                  else fh.Insulated())},
        interfaces={name: fh.KapitzaResistance(resistance, tangential="free" if free
                                               else "continuous") for name in interfaces or {}},
        model="gk", degree=degree, viscous=viscous)


def slab_errors(n: int, edges, layers, resistance: float = 0.0, degree: int = 1,
                viscous: str = "auto", free: bool = False, open_sides: bool = False
                ) -> tuple[float, float]:
    """Relative L2 errors (T, q) of the steady slab against :class:`Layers`."""
    problem = _slab(n, edges, layers, resistance, degree, viscous, free, open_sides)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    mesh = problem.regions.mesh
    qb = skfem.CellBasis(mesh, system.flux_basis.elem, intorder=8)
    tb = skfem.CellBasis(mesh, system.temperature_basis.elem, intorder=8)
    x = qb.global_coordinates().value
    T_ex, q_ex = Layers(edges, layers, resistance, free)(x[0], x[1])
    dq = qb.interpolate(state.flux).value - q_ex
    dT = tb.interpolate(state.temperature).value - T_ex
    return (math.sqrt(np.sum(dT**2 * tb.dx) / np.sum(T_ex**2 * tb.dx)),
            math.sqrt(np.sum((dq**2).sum(0) * qb.dx) / np.sum((q_ex**2).sum(0) * qb.dx)))


def _orders(errs):
    return [math.log2(a / b) for a, b in zip(errs[:-1], errs[1:])]


def _slab_orders(meshes, degree: int, label: str, *args, **options) -> np.ndarray:
    """The slab's (T, q) errors on ``meshes`` (``slab_errors(n, *args, degree=degree,
    **options)``), asserted to converge at full order on the finest pair: T at
    O(h^(k+1)), q at O(h^(k+2)); the failure names ``label``, the errors and orders."""
    errs = np.array([slab_errors(n, *args, degree=degree, **options) for n in meshes])
    t_order, q_order = _orders(errs[:, 0]), _orders(errs[:, 1])
    assert t_order[-1] > degree + 0.9 and q_order[-1] > degree + 1.85, (
        f"{label}: T errors {errs[:, 0]} (orders {np.round(t_order, 2)}), q errors "
        f"{errs[:, 1]} (orders {np.round(q_order, 2)})")
    return errs


def test_the_reference_is_the_gradient_energys_solution():
    """The layered solution meets its own conditions (continuity of q and of the
    tangential traction; the normal one jumps by R q_n), and the penalty form converges
    to it: q 7.5e-3 / 1.2e-3 / 1.6e-4 at n = 4 / 8 / 16 (degree 1)."""
    ref = Layers(*TWO, resistance=0.5)
    x = np.full(2, 0.3)
    eps = 1e-7
    T, q = ref(x, np.array([-eps, eps]))
    assert abs(q[0, 0] - q[0, 1]) < 1e-5 and abs(q[1, 0] - q[1, 1]) < 1e-5
    assert abs(T[0] - T[1]) > 1e-2, "T jumps at the interface"
    errs = [slab_errors(n, *TWO, viscous="penalty")[1] for n in (4, 8, 16)]
    assert min(_orders(errs)) > 2.5, f"penalty form q errors {errs}"


@pytest.mark.parametrize("case, resistance", [("two", 0.0), ("two", 0.5), ("three", 0.0)])
@pytest.mark.parametrize("degree", [0, 1])
def test_layers_converge_at_full_order(case, resistance, degree):
    """T at O(h^(k+1)), q at O(h^(k+2)) at degree k across interfaces where ν jumps (with
    a Kapitza resistance too), and the default ("auto") takes the vorticity form
    there. Measured (n = 8 / 16 / 32): module doc; three layers (middle ν largest),
    degree 1: q order 3.0."""
    edges, layers = TWO if case == "two" else THREE
    assert _slab(4, edges, layers, resistance, degree).viscous_form == "vorticity"
    meshes = (8, 16, 32) if degree == 0 else (4, 8, 16)
    errs = np.array([slab_errors(n, edges, layers, resistance, degree) for n in meshes])
    t_order, q_order = _orders(errs[:, 0]), _orders(errs[:, 1])
    msg = (f"T errors {errs[:, 0]} (orders {np.round(t_order, 2)}), q errors {errs[:, 1]} "
           f"(orders {np.round(q_order, 2)})")
    assert t_order[-1] > degree + 0.9 and q_order[-1] > degree + 1.85, msg
    penalty = slab_errors(meshes[-1], edges, layers, resistance, degree, "penalty")
    assert errs[-1, 1] < 1.5 * penalty[1] and errs[-1, 0] < 1.1 * penalty[0], (
        f"{msg}; penalty form (T, q) {penalty}")


@pytest.mark.parametrize("resistance", [0.0, 0.5])
@pytest.mark.parametrize("degree", [0, 1])
def test_a_layer_next_to_fourier_converges_at_full_order(degree, resistance):
    """A GK film on a layer with l = 0 (``ON_FOURIER``): the film's interface with it is
    an open boundary of the viscous region (the gradient energy holds no tangential
    condition there, module doc). Both forms converge to it at full order since
    2026-12-06, and the default takes the vorticity form. Measured (relative L2, R = 0,
    the R = 0.5 errors alike):

    * degree 1, n = 4 / 8 / 16 / 32: the vorticity form q 3.9e-3 / 5.1e-4 / 6.2e-5 /
      7.6e-6, T 3.4e-2 / 8.7e-3 / 2.2e-3 / 5.4e-4; the penalty form q 5.0e-3 … 1.1e-5,
      T 5.6e-4 at n = 32;
    * degree 0: the vorticity form q 3.8e-2 / 1.0e-2 / 2.5e-3 / 6.2e-4, T 0.26 … 3.3e-2;
      the penalty form q 4.9e-2 … 8.4e-4, T 3.5e-2.

    Before, the penalty form kept its interior penalty on those facets: it holds the
    film's q_t to the Fourier side's, a constraint the H(div) flux there relaxes only
    in a layer of cells, so q reached this solution at O(h^½) (degree 1: 7.4e-3 /
    3.8e-3 / 2.6e-3 / 1.9e-3; degree 0 at n = 32 / 64 / 128: 2.9e-3 / 2.0e-3 /
    1.4e-3), 8.4e-3 from the solution with q_t continuous at every n. One vorticity with
    ω = 0 on the cells with l = 0 converged (at full order) to yet another model,
    ω = 0 at the interface, 2.8e-2 away in q."""
    edges, layers = ON_FOURIER
    assert _slab(4, edges, layers, resistance, degree).viscous_form == "vorticity"
    meshes = (8, 16, 32) if degree == 0 else (4, 8, 16)
    for viscous in ("vorticity", "penalty"):
        _slab_orders(meshes, degree, viscous, edges, layers, resistance, viscous=viscous)


@pytest.mark.parametrize("case", ["two", "three", "same"])
@pytest.mark.parametrize("degree", [0, 1])
def test_free_kapitza_interfaces_converge_at_full_order(case, degree):
    """Kapitza interfaces with a free tangential flux (R = 0.5): q_n and the normal
    traction's jump R q_n as before, no tangential traction on either side (each side's
    interface an open boundary). Both forms converge to it at full order, and the
    default takes the vorticity form since 2026-12-06 (the levels built on each part
    of the viscous region the free interfaces cut apart; "same": equal l and κ on both
    sides). Measured, degree 1, n = 4 / 8 / 16 / 32: two layers, the vorticity form q
    6.4e-3 / 9.8e-4 / 1.2e-4 / 1.5e-5, T 3.3e-2 … 5.3e-4, the penalty form q 7.3e-3 …
    2.0e-5, T 5.3e-4; three layers q 9.5e-6 / 1.4e-5, T 4.9e-4 / 5.0e-4 at n = 32; the
    same material q 7.6e-6 / 1.1e-5. Degree 0, n = 32: q 7.8e-4 / 8.5e-4 (two),
    6.9e-4 / 7.8e-4 (three), 6.3e-4 / 8.1e-4 (same), T 3.1–3.4e-2 in both."""
    edges, layers = {"two": TWO, "three": THREE,
                     "same": ([-1.0, 0.0, 1.0], [(1.0, 0.3), (1.0, 0.3)])}[case]
    assert _slab(4, edges, layers, 0.5, degree, free=True).viscous_form == "vorticity"
    meshes = (8, 16, 32) if degree == 0 else (4, 8, 16)
    errs = {}
    for viscous in ("vorticity", "penalty"):
        errs[viscous] = _slab_orders(meshes, degree, viscous, edges, layers, 0.5,
                                     viscous=viscous, free=True)
    assert errs["vorticity"][-1, 1] < 1.1 * errs["penalty"][-1, 1], errs
    assert errs["vorticity"][-1, 0] < 1.05 * errs["penalty"][-1, 0], errs


@pytest.mark.parametrize("free", [False, True])
def test_interfaces_meeting_boundaries_that_heat_crosses(free):
    """The two-layer slab with R = 0.5 and its sides open (T given, the reference's
    T − ν∂q_n/∂n there): the levels' interface meets open boundaries, where the
    vertex terms join each side's chain (degree 1, both forms at full order).
    Measured, n = 4 / 8 / 16 / 32: continuous q_t, the vorticity form q 6.5e-3 /
    9.9e-4 / 1.3e-4 / 1.5e-5, T 5.2e-4 at n = 32 (the penalty form q 2.1e-5, T
    5.4e-4); free q 1.5e-5, T 5.3e-4 (the penalty form 2.0e-5, 5.3e-4)."""
    assert _slab(4, *TWO, 0.5, free=free, open_sides=True).viscous_form == "vorticity"
    for viscous in ("vorticity", "penalty"):
        _slab_orders((4, 8, 16), 1, viscous, *TWO, 0.5, viscous=viscous, free=free,
                     open_sides=True)


def _flux_block(system) -> np.ndarray:
    C, mass = system.rotation
    return system.resistance_base.toarray() + C.T.toarray() @ np.linalg.solve(
        mass.matrix.toarray(), C.toarray())


@pytest.mark.parametrize("case, free", [(THREE, False), (ON_FOURIER, False), (THREE, True)],
                         ids=["three", "on_fourier", "three_free"])
@pytest.mark.parametrize("degree", [0, 1])
def test_flux_block_is_positive_semidefinite(degree, case, free):
    """The viscous block with the levels' split vorticities and open interface terms
    stays positive semidefinite on the free flux DOFs (three layers, with continuous or
    free interfaces; a film on a layer with l = 0): its lowest
    eigenvalue against the Darcy mass (the same slab at l = 1e-6) is round-off.
    Measured: ~1e-14 (the next 0.1–0.3)."""
    system = fh.assemble(_slab(4, *case, degree=degree, free=free))
    dofs = system.free_dofs
    darcy = fh.assemble(_slab(4, case[0], [(k, 1e-6) for k, _ in case[1]], degree=degree,
                              free=free)).resistance_base.toarray()[np.ix_(dofs, dofs)]
    V = _flux_block(system)[np.ix_(dofs, dofs)] - darcy
    eig = scipy.linalg.eigvalsh(0.5 * (V + V.T), darcy)
    assert eig[0] > -1e-9 * eig[-1], f"lowest {eig[0]:.3e}, next {eig[1:3]}, largest {eig[-1]:.3e}"


def quasi_static_rates(n: int, viscous: str, ell_b: float = math.sqrt(0.2),
                       degree: int = 0) -> np.ndarray:
    """Rates of dT/dt = −C⁻¹ B A⁻¹ Bᵀ T in an insulated free-slip square of two
    materials (x < ½: κ = 1, l² = 0.5; x > ½: κ = 2, l = ``ell_b``), C = 1, β = 2
    (the default)."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    rm = fh.RegionMesh.from_skfem(mesh, subdomains={"a": lambda x: x[0] < 0.5,
                                                    "b": lambda x: x[0] > 0.5},
                                  boundaries={"walls": lambda x: np.ones(x.shape[1], bool)})
    materials = {"a": fh.Material(1.0, 1.0, 0.0, nonlocal_length=math.sqrt(0.5)),
                 "b": fh.Material(2.0, 1.0, 0.0, nonlocal_length=ell_b)}
    system = fh.assemble(fh.HeatProblem(rm, materials, {"walls": fh.Insulated()},
                                        model="gk", degree=degree, viscous=viscous))
    free = system.free_dofs
    A = (_flux_block(system) if system.rotation is not None
         else system.resistance.toarray())[np.ix_(free, free)]
    B = system.divergence[:, free].toarray()
    return np.sort(scipy.linalg.eigvalsh(B @ np.linalg.solve(A, B.T),
                                         system.capacity.toarray()))


def test_no_spurious_slow_temperature_modes_across_materials():
    """The slowest nonzero quasi-static rate converges (n = 8 against n = 12 within
    1 %) and every rate stays below the larger material's saturation α/((1 + β)l²) =
    10/3, where the penalty form's grid modes decay slower than the physical slowest
    mode, and slower as the mesh is refined. Measured: vorticity 0.6530 / 0.6533 at
    n = 8 / 12 (fastest 3.331); penalty 0.5758 / 0.5461 / 0.5336 at n = 8 / 12 / 16.
    (With material a everywhere: vorticity 0.6247 against the physical
    π²/(1 + 3π²l²) = 0.6244, penalty 0.5376.)"""
    coarse, fine = quasi_static_rates(8, "vorticity"), quasi_static_rates(12, "vorticity")
    penalty = quasi_static_rates(8, "penalty")
    assert abs(coarse[0]) <= 1e-10 * coarse[-1]
    assert abs(coarse[1] / fine[1] - 1) < 1e-2, f"slowest rates {coarse[1]:.4f}, {fine[1]:.4f}"
    assert fine[-1] <= 10 / 3 * (1 + 1e-9), f"fastest rate {fine[-1]:.4f}"
    assert penalty[1] < 0.9 * fine[1], (
        f"penalty form's slowest {penalty[1]:.4f} against {fine[1]:.4f}: the comparison "
        "no longer shows grid modes")


@pytest.mark.parametrize("degree", [0, 1])
def test_no_spurious_slow_temperature_modes_next_to_fourier(degree):
    """Material b of the square above with l = 0: the slowest nonzero rates are the GK
    half's, just below its saturation α/((1 + β)l²) = 2/3, and converge; the penalty
    form's grid modes sit below them and fall with h. Measured slowest rates at n = 4 /
    8 / 12: degree 0 vorticity 0.6523 / 0.6535 / 0.6538, penalty 0.608 / 0.582 / 0.549;
    degree 1 vorticity 0.6468 / 0.6457 / 0.6454, penalty 0.453 / 0.430 / 0.424."""
    coarse, fine = (quasi_static_rates(n, "vorticity", 0.0, degree) for n in (8, 12))
    penalty = quasi_static_rates(8, "penalty", 0.0, degree)
    assert abs(coarse[0]) <= 1e-10 * coarse[-1]
    assert abs(coarse[1] / fine[1] - 1) < 2e-3 and fine[1] < 2 / 3, (
        f"slowest rates {coarse[1]:.4f}, {fine[1]:.4f}")
    assert penalty[1] < 0.9 * fine[1], (
        f"penalty form's slowest {penalty[1]:.4f} against {fine[1]:.4f}: the comparison "
        "no longer shows grid modes")


def test_pinched_materials_keep_the_penalty_form():
    """Materials of larger ν touching at one vertex (a 2 × 2 checkerboard): "auto" keeps
    the penalty form and says why; an explicit vorticity form is refused with the
    location."""
    mesh = skfem.MeshTri.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    rm = fh.RegionMesh.from_skfem(mesh, subdomains={
        "a": lambda x: (x[0] - 0.5) * (x[1] - 0.5) > 0,
        "b": lambda x: (x[0] - 0.5) * (x[1] - 0.5) < 0},
        boundaries={"walls": lambda x: np.ones(x.shape[1], bool)})
    materials = {"a": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.3),
                 "b": fh.Material(1.0, 1.0, 0.0, nonlocal_length=0.1)}
    auto = fh.HeatProblem(rm, materials, {"walls": fh.Insulated()}, model="gk")
    assert auto.viscous_form == "penalty"
    with pytest.raises(fh.FemheatInputError, match=r"single vertex near \[0.5, 0.5\]"):
        fh.assemble(fh.HeatProblem(rm, materials, {"walls": fh.Insulated()}, model="gk",
                                   viscous="vorticity"))


def _quarter_annulus(n: int, viscous: str, degree: int, outer_ell: float = 0.12
                     ) -> tuple[float, float]:
    """Heat flow through a quarter of the shell 1 < r < 2 (r < 1.5: κ = 1, l = 0.3;
    r > 1.5: κ = 2, l = 0.12) with T = 1 at r = 1, 0 at r = 2 and insulated free-slip
    cuts, meshed by a mapped (r, θ) grid of n radial cells (the interface circle on
    mesh lines, faceted), against the closed form."""
    ra, rb = (1.0, 0.3), (2.0, outer_ell)
    grid = skfem.MeshTri.init_tensor(np.linspace(1, 2, n + 1), np.linspace(0, PI / 2, 2 * n + 1))
    r, t = grid.p
    mesh = skfem.MeshTri(np.array([r * np.cos(t), r * np.sin(t)]), grid.t)
    radius = lambda x: np.hypot(x[0], x[1])  # noqa: E731
    rm = fh.RegionMesh.from_skfem(mesh, subdomains={
        "a": lambda x: radius(x) < 1.5, "b": lambda x: radius(x) > 1.5}, boundaries={
        "inner": lambda x: radius(x) < 1 + 1e-9,
        "outer": lambda x: radius(x) > 2 * np.cos(PI / (4 * n)) - 1e-9,
        "cuts": lambda x: np.isclose(x[0], 0) | np.isclose(x[1], 0)})
    problem = fh.HeatProblem(
        rm, {"a": fh.Material(ra[0], 1.0, 0.0, nonlocal_length=ra[1]),
             "b": fh.Material(rb[0], 1.0, 0.0, nonlocal_length=rb[1])},
        {"inner": fh.Temperature(1.0), "outer": fh.Temperature(0.0), "cuts": fh.Insulated()},
        model="gk", degree=degree, viscous=viscous)
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    fb = skfem.FacetBasis(mesh, system.flux_basis.elem, facets=rm.boundary("outer"), intorder=6)
    flow = skfem.Functional(lambda w: w["q"].value[0] * w.n[0] + w["q"].value[1] * w.n[1]
                            ).assemble(fb, q=fb.interpolate(state.flux))
    nu_a, nu_b = ra[1] ** 2 / ra[0], rb[1] ** 2 / rb[0]
    exact = (PI / 2) / (math.log(1.5) / ra[0] + math.log(2 / 1.5) / rb[0]
                        + nu_a * (1 - 1 / 1.5**2) + nu_b * (1 / 1.5**2 - 1 / 4))
    return flow, exact


@pytest.mark.parametrize("outer_ell", [0.12, 0.0])
@pytest.mark.parametrize("degree", [0, 1])
def test_curved_interface_contact_resistance(degree, outer_ell):
    """Radial flow q = c/r e_r across a circular interface where ν jumps: in each shell
    GK is Fourier's law (∇²q = 0), and the gradient energy's conditions T − ν∂q_n/∂n =
    T_D at both circles and the continuous normal traction across the interface give the
    heat flow (π/2)ΔT/(Σ ln(r_out/r_in)/κ + Σ ν(1/r_in² − 1/r_out²)) = 2.614916, 8.6 %
    below Fourier's. The default (the vorticity form; the interface faceted, its
    curvature in the levels' vertex terms) converges to it at O(h²). Measured relative
    errors at n = 4 / 8 / 16: degree 0 −1.35e-3 / −2.43e-4 / −4.79e-5 (the penalty form
    −1.11e-3 / −2.86e-4 / −7.43e-5), degree 1 −5.32e-4 / −1.35e-4 / −3.42e-5 (penalty
    −5.67e-4 … −3.44e-5: the faceted circles' O(h²)). With l = 0 in the outer shell
    (2.621025; its circle an open boundary of the viscous shell): degree 0 −1.33e-3 /
    −2.39e-4 / −4.69e-5, degree 1 −4.81e-4 / −1.27e-4 / −3.27e-5."""
    errs = []
    for n in (4, 8, 16):
        flow, exact = _quarter_annulus(n, "auto", degree, outer_ell)
        errs.append(abs(flow / exact - 1))
    assert errs[-1] < 1e-4 and min(_orders(errs)) > 1.9, f"relative errors {errs}"
