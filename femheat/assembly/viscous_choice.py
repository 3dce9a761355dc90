r"""Which discretization of the Guyer–Krumhansl viscous term a problem gets.

``HeatProblem(viscous=...)`` (case file ``model.viscous``) takes

* ``"penalty"``: BDM fluxes with the interior penalty (:mod:`femheat.assembly.gk`);
* ``"vorticity"``: the vorticity (Hodge-Laplacian) form
  (:mod:`femheat.assembly.vorticity`);
* ``"auto"`` (the default): the vorticity form where both forms discretize the *same*
  continuous problem with the same flux and temperature spaces, the penalty form
  everywhere else (:func:`viscous_form`).

Why a choice. The penalty form's temperature has grid-scale quasi-static modes that
decay at ~0.58 / 0.36 α/l² (degree 0 / 1, η = 1, projected jumps), slower than every
physical mode once l > ~0.37 L / 0.24 L (slowest rate 3.61 against the physical 4.967
on the unit square at degree 1, l = 0.32); the vorticity form has none (4.96724).
The two model the same continuous problem only where the Hodge energy
ν(|rot q|² + (1+β)|∇·q|²) and the gradient energy ν|∇q|² + βν|∇·q|² differ by nothing
the vorticity form leaves out: where ν = l²/κ jumps between materials only with the
viscosity levels of :mod:`femheat.assembly.vorticity_levels` (2D, piecewise-constant
ν, l = 0 included; one vorticity with the cell mean of ν holds [ν rot q] = 0 instead of
the traction's continuity, 2.4 % apart in q on a two-layer slab, and ω = 0 next to
l = 0, 2.8e-2), where ν varies inside a material only with the closure terms in ∇ν
of :mod:`femheat.assembly.vorticity_graded` (and its graded levels where ν also
jumps, :mod:`femheat.assembly.vorticity_graded_levels`), across Kapitza interfaces with
a free tangential flux only where they cut the viscous region apart (each side's interface
an open boundary of its own levels; along a slit since 2026-12-07, with one ν or
several, :mod:`femheat.assembly.vorticity_slit`), and, where heat crosses a
boundary, only with the boundary terms of :mod:`femheat.assembly.vorticity_open` (2D;
without them, in 3D and in (r, z), the vorticity form's
conditions T − (1+β)ν∇·q = T_D and ω = 0 are a different model, 19 % apart in T on a
square at l = 0.2). A blanket switch would change users' answers there, so ``"auto"``
takes the vorticity form when all of the following hold:

* a model with the viscous term (``gk``, or ``memory`` with a nonlocal length: the term
  acts on its total flux, and its vorticity form keeps one ω), 2D Cartesian
  triangles or tetrahedra, degree 0 or 1. Both forms then use the same flux and
  temperature pairs (BDM1 × P0, BDM2 × P1DG), so q keeps its O(h²) / O(h³) and T its
  O(h) / O(h²).
  At degree 1 the vorticity form's T errors are 0.87–0.99×
  the penalty form's on a manufactured no-slip flow (n = 32), 0.13× next to no-slip
  walls (channel T 7.1e-6 against 5.5e-5 at n = 16; README, accuracy), 1.0× on a
  manufactured flow that crosses the boundary (2.36e-5 against 2.37e-5 at n = 32) and
  0.16× in a channel with open ends (1.2e-5 against 7.8e-5 at n = 16,
  ``tests/test_gk_vorticity_open.py``); a decaying
  vortex (G5) keeps T uniform to 3.9e-7 K at n = 32 where the penalty form's moves
  by 1.0e-4 K; at less cost on closed squares (n = 25–100: assembly 0.60–0.78×, steps
  0.61–1.08×, factorizations 0.84–1.34×; ``benchmarks/bench_gk_auto.py``, which also
  times open squares, where ω is an unknown).
  At degree 0 (BDM1 × P0 with a consistent P2 vorticity; the default since
  2026-12-06) the vorticity form has no slow modes (slowest rate 0.90842 against the
  physical 0.90800 at l = L, where the penalty form's grid modes decay at 0.58), a
  max-norm T that converges on gmsh meshes (7.4e-5 at n = 64, the penalty form
  5.3e-4), 6–18× smaller T errors next to walls, centroid values at O(h²) and a
  Poiseuille κ_eff of 0.6053524 against the exact 0.6053540 (the penalty form
  0.6046921 at n = 24; ``tests/test_gk_vorticity*.py``, ``tests/test_gk_channel.py``);
  it gives 1.09–1.10× the penalty form's G4 source-bump error and 1.5× its box-mean
  error on the periodic Yukawa comparison (both O(h²); ``tests/test_gk_modes.py``,
  ``tests/test_kernels_physics.py``); its steps cost 0.80–1.09× and its
  factorizations 0.96–2.06× the penalty form's (``benchmarks/bench_gk_auto.py
  --degree 0``). In 3D (since 2026-12-06, when the 3D vorticity form moved to the
  penalty form's BDM pairs and gained the open-boundary terms of
  :mod:`femheat.assembly.vorticity_open3d`, and the viscosity levels below) under the
  same rules as in 2D. There the vorticity form has no grid-scale modes (slowest quasi-static
  rate 5.03 / 4.975 against the physical 4.967 at l = 0.32 L, degree 0 / 1; the
  penalty form's decay at ~0.58 / 0.36 α/l², 3.26 at degree 1 there), a vortex
  decaying in the insulated cube keeps q within 4.6e-3 at n = 12, degree 0 (the
  penalty form 8.1e-3); where heat crosses the boundary it meets the gradient
  energy's conditions with q errors 0.5–0.85× the penalty form's and T errors 0.99–1.0×
  on manufactured flows, and a developed flow between no-slip plates passes open ends
  with heat-flow errors 2.9e-5 / 2.8e-7 (degree 0 / 1, n = 8; the penalty form 7.4e-3
  / 3.4e-5; ``tests/test_gk_vorticity_open3d.py``); a steady direct solve costs
  3.2–4.0× the penalty form's at degree 0 (n = 6, 8) and 2.6–3.0× at degree 1 (n =
  4, 6), a step 1.8–2.9× and a frequency solve 0.97–1.6× (a channel with open ends,
  ``benchmarks/bench_gk.py --dim 3``, re-measured 2026-12-07 with the augmented
  matrix by SuperLU's supernodal LU; 4.3–12.2× with CHOLMOD's simplicial LDLᵀ). (r, z) keeps the
  penalty form: it has no degree-1 vorticity form and
  keeps ω = 0 where heat crosses a boundary;
* ν = l²/κ either positive and varying inside materials (in 2D it may vanish at
  points and along lines where it is continuous; κ or l functions of
  position, scalar κ, no branching slit: the closure terms of
  :mod:`femheat.assembly.vorticity_graded`, since 2026-12-07, where ν is continuous;
  where it also jumps between subdomains, l = 0 in some included, graded levels over
  tiers of ν, or the lower envelope's levels where ν changes side along an interface
  or around a loop, :mod:`femheat.assembly.vorticity_graded_levels`;
  manufactured flows with κ and l varying converge at O(h^(k+1)) in T and O(h^(k+2))
  in q in 2D and 3D, q errors 0.71–0.89× and T errors 0.95–0.99× the penalty form's,
  ``tests/test_gk_vorticity_graded.py``), or constant scalars κ and l in every
  material, ν > 0 in one at least (one
  value, or several, l = 0 included: the levels of
  :mod:`femheat.assembly.vorticity_levels`, since 2026-12-06, where two-layer and
  three-layer slabs and a film on a layer with l = 0 converge at O(h^(k+1)) in T and
  O(h^(k+2)) in q, with q errors 0.7× and T errors 0.95–1.0× the penalty form's,
  Kapitza resistances included, ``tests/test_gk_vorticity_layers.py``; not where
  materials of larger ν touch at a single vertex); Kapitza interfaces with a free
  tangential flux are open boundaries of each side: since 2026-12-06 where they cut
  the viscous region apart (layered slabs at full order, q 1.5e-5 against the penalty
  form's 2.0e-5 at degree 1, n = 32), since 2026-12-07 also where they end inside it
  (a slit: the vorticity cut along it, with one ν or several,
  ``tests/test_gk_vorticity_slit.py``), not where ν varies inside a material;
* κ a scalar, or (since 2026-12-09) a constant symmetric tensor with constant l in
  its material, no free Kapitza interface and no
  Landau terms: the smallest eigenvalue's part of N = l²κ⁻¹ by the vorticity form, the
  rest by weak gradients of flux components, its stress-free walls open boundaries
  (:mod:`femheat.assembly.vorticity_anisotropic`; κ = diag(1, 3) at l = L: slowest
  quasi-static rate 0.9080, the physical one, against the penalty form's 0.531;
  manufactured flows at full order with T errors 0.99–1.0× and q errors 0.83–0.98× the
  penalty form's, ``tests/test_gk_anisotropic*.py``);
* slip-length walls that heat crosses are open boundaries with the slip's Robin term
  since 2026-12-07 (:func:`~femheat.assembly.vorticity_crossed_walls.slip_friction`; q at
  O(h³), T at O(h²) on manufactured flows in 2D and 3D,
  ``tests/test_gk_vorticity_graded.py``); tangential-flux walls that heat crosses are
  held like no-slip ones with their data's part of the boundary integral as a load
  (:func:`~femheat.assembly.vorticity_crossed_walls.tangential_data_load`, 2D and 3D
  with κ and l constant per material, since 2026-12-07: q 1.94e-6, T 9.45e-5 at degree
  1, n = 16, the penalty form 2.25e-6, 9.50e-5, ``tests/test_gk_vorticity_open.py``,
  ``..._open3d.py``; with ν varying since 2026-12-08, ν at the load's points,
  ``tests/test_gk_vorticity_graded.py``);
* no wall given a smooth surface normal, and no interior-penalty factor other than 1
  (both ask for the penalty form);
* nothing else keeps the problem from the vorticity form (an explicit
  ``viscous = "vorticity"`` would be accepted).

On a curved insulated boundary without a smooth normal the penalty form locks the
tangential flux on the facets (O(h) errors, and a warning) and the vorticity form
converges at O(h²) (tests/test_gk_vorticity_curved.py), so the choice holds there
too. On a curved no-slip wall that heat crosses the vorticity form has the curvature
term of :func:`~femheat.assembly.vorticity_open.sheared_wall_corners` since 2026-12-06
(a Gaussian source in a disc: T at O(h²), 2.7e-4 at degree 1; before, "auto" took the
form there at degree 1 and T stalled at 1.1e-2). The choice is logged (INFO) when the
problem is made; it is
:attr:`~femheat.assembly.problem.HeatProblem.viscous_form`, which runs record in
their summary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["VISCOUS_FORMS", "VISCOUS_CHOICES", "viscous_form", "auto_reason",
           "vorticity_obstacles", "check_vorticity"]

#: Discretizations of the viscous (l²) term.
VISCOUS_FORMS = ("penalty", "vorticity")
#: What ``viscous`` accepts: a form, or "auto" (the default) to let :func:`viscous_form`
#: choose.
VISCOUS_CHOICES = ("auto",) + VISCOUS_FORMS
#: The option's key in the refusals' wording.
WHERE_VORTICITY = "model.viscous = 'vorticity'"


def constant_scalar(value: Any) -> float | None:
    """A scalar constant coefficient as a float, else None (functions, tensors, None)."""
    if value is None or callable(value) or isinstance(value, str) or np.ndim(value) != 0:
        return None
    return float(value)


def auto_reason(problem) -> str | None:
    """Why ``viscous = "auto"`` keeps the penalty form for ``problem``, or None where it
    takes the vorticity form (module doc)."""
    from ..physics.conditions import NoSlip, SlipLength
    from ..registry import get_model
    from .vorticity_crossed_walls import crossed_tangential_walls, heat_crosses

    if not get_model(problem.model).has_viscous_term(problem):
        return f"model {problem.model!r} without the viscous term"
    if getattr(problem, "coordinates", "cartesian") != "cartesian":
        return "(r, z) coordinates"
    if problem.penalty != 1.0:
        return f"model.penalty = {problem.penalty} given"
    from .vorticity_anisotropic import anisotropic_obstacle, isotropic_proxy

    anisotropic = anisotropic_obstacle(problem)
    if anisotropic is not None:
        return anisotropic
    problem = isotropic_proxy(problem)  # a constant tensor κ: its vorticity part's problem
    from .vorticity_graded import varies_inside
    from .vorticity_graded_levels import graded_obstacle

    if varies_inside(problem):  # ν = l²/κ a function of position: the closure terms
        graded = graded_obstacle(problem)
        if graded is not None:
            return f"materials: {graded}"
    else:
        nu = np.asarray([constant_scalar(m.nonlocal_length) ** 2
                         / constant_scalar(m.conductivity) for m in problem.materials.values()])
        if nu.size == 0 or not nu.max() > 0:
            return "nu = l^2/kappa = 0 in every material (no viscous term)"
    from .vorticity_levels import uncut_free_interface

    slit = uncut_free_interface(problem)
    if slit is not None:
        from .vorticity_slit import slit_obstacle

        why = slit_obstacle(problem)
        if why is not None:
            return (f"interfaces.{slit}: a Kapitza interface with a free tangential flux "
                    f"that ends inside a viscous region; its slit is cut {why}")
    held = crossed_tangential_walls(problem)  # κ and l constant per material
    for name, bc in problem.boundary_conditions.items():
        wall = problem.walls.get(name)
        if (heat_crosses(bc) and wall is not None and name not in held
                and not isinstance(wall, (NoSlip, SlipLength))):
            return (f"boundaries.{name}: heat crosses it and it has a "
                    f"{type(wall).__name__} wall")
    if any(getattr(wall, "normal", None) is not None for wall in problem.walls.values()):
        return "a wall with a smooth surface normal"
    obstacles = vorticity_obstacles(problem)
    if obstacles:
        return str(obstacles[0])
    return None


def viscous_form(problem) -> str:
    """The discretization ``problem`` gets: ``"penalty"`` or ``"vorticity"``:
    ``problem.viscous`` itself where it names one; for ``"auto"`` the vorticity form
    where :func:`auto_reason` finds nothing against it (module doc)."""
    requested = getattr(problem, "viscous", "penalty")
    if requested != "auto":
        return requested
    return "vorticity" if auto_reason(problem) is None else "penalty"


def vorticity_obstacles(problem) -> list:
    """What keeps ``problem`` from the vorticity form, as the errors an explicit
    ``viscous = "vorticity"`` raises (empty if nothing does)."""
    import skfem

    from ..errors import FemheatInputError
    from ..physics.conditions import TangentialFlux
    from ..physics.materials import material_fields
    from .vorticity_anisotropic import anisotropic_obstacle, isotropic_proxy
    from .vorticity_levels import level_obstacle

    out: list = []
    mesh = problem.regions.mesh
    if not isinstance(mesh, (skfem.MeshTri1, skfem.MeshTet1)):
        out.append(FemheatInputError(
            f"{WHERE_VORTICITY} is available on triangle and tetrahedral meshes only (got "
            f"{type(mesh).__name__}); use viscous = 'penalty'"))

    if getattr(problem, "coordinates", "cartesian") != "cartesian" and problem.degree != 0:
        out.append(FemheatInputError(
            f"{WHERE_VORTICITY} in (r, z) (mesh.coordinates = 'axisymmetric') is lowest order "
            f"only (RT0 x P0), got degree = {problem.degree}; use degree = 0, or "
            "viscous = 'penalty' at degree 1"))
    if problem.penalty != 1.0:
        out.append(FemheatInputError(
            f"model.penalty = {problem.penalty} has no effect with {WHERE_VORTICITY} (no penalty); "
            "remove it"))
    anisotropic = anisotropic_obstacle(problem)
    if anisotropic is not None:
        out.append(FemheatInputError(
            f"{anisotropic}: not available with {WHERE_VORTICITY} (it takes a constant symmetric "
            "tensor with constant l); use "
            "viscous = 'penalty'"))
        return out
    problem = isotropic_proxy(problem)  # an anisotropic κ: the checks on its proxy
    for name, wall in problem.walls.items():
        if getattr(wall, "normal", None) is None:
            continue
        if isinstance(wall, TangentialFlux):
            out.append(FemheatInputError(
                f"walls.{name}: a smooth wall normal (weak impermeability) is not "
                f"available with {WHERE_VORTICITY}; drop normal= (the data q.t then follow the "
                "facets: exact at degree 0 on a circular Couette annulus, O(h^0.5) in T "
                "at degree 1) or use viscous = 'penalty'"))
        else:
            out.append(FemheatInputError(
                f"walls.{name}: a smooth wall normal is not needed with {WHERE_VORTICITY}: its "
                "free-slip and slip-length conditions act on the vorticity and converge "
                "at O(h^2) on faceted curved walls (tests/test_gk_vorticity_curved.py); "
                "drop normal="))
    pinched = level_obstacle(problem)  # materials of larger ν touching at a vertex
    if pinched:
        out.append(FemheatInputError(pinched))
    if not out and any(callable(m.conductivity) or isinstance(m.conductivity, str)
                       for m in problem.materials.values()):
        # a conductivity function: its value at the cell centroids decides
        x = mesh.p[:, mesh.t].mean(axis=1)[:, :, None]
        if not material_fields(problem.regions, problem.materials, x).isotropic:
            out.append(FemheatInputError(
                f"{WHERE_VORTICITY} needs an isotropic conductivity, but a material's conductivity "
                "evaluates to a tensor; return a scalar, or use viscous = 'penalty'"))
    return out


def check_vorticity(problem) -> None:
    """Refuse, naming the key, what the vorticity form does not cover."""
    from ..errors import FemheatInputError

    viscous = getattr(problem, "viscous", "penalty")
    if viscous not in VISCOUS_CHOICES:
        raise FemheatInputError(
            f"model.viscous = {viscous!r} is unknown; use 'auto' (the default: the "
            "vorticity form where it and the penalty form model the same problem), "
            "'penalty' (interior penalty) or 'vorticity'")
    if viscous != "vorticity":
        return
    reasons = vorticity_obstacles(problem)
    if reasons:
        raise reasons[0]
