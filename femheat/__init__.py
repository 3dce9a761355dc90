"""femheat: heat conduction beyond Fourier's law in heterogeneous media, with scikit-fem.

Mixed finite elements (Raviart–Thomas flux, discontinuous temperature) for
Fourier and Maxwell–Cattaneo–Vernotte conduction, Kapitza interface
resistances as facet terms, θ-scheme time stepping, VTU/PVD output.

Typical use::

    import femheat as fh
    regions = fh.load_mesh("meshes/composite_2d.msh")
    problem = fh.HeatProblem(
        regions,
        materials={"matrix": fh.Material(1.0, 1e6), "inclusion": fh.Material(10.0, 2e6)},
        boundary_conditions={"left": fh.Temperature(310.0), "right": fh.Temperature(300.0),
                             "top": fh.Insulated(), "bottom": fh.Insulated()},
        interfaces={"inclusion_surface": fh.KapitzaResistance(0.05)},
    )
    system = fh.assemble(problem)
    state = fh.solve_steady(system)
    print(fh.boundary_heat_flow(system, state.flux))
"""

from importlib import import_module

from .physics.conditions import (Convection, FreeSlip, HeatFlux, Insulated, KapitzaResistance, NoSlip,
                         SlipLength, TangentialFlux, Temperature)
from .errors import (BoundaryConditionError, FemheatInputError, MeshError, RegionError,
                     SolverError)
from .physics.materials import Material
from .mesh.regions import RegionMesh, load_mesh
from .assembly.system import HeatProblem, MixedSystem, assemble
from .registry import MODELS, get_model, register
from .solve.steady import State, consistent_flux, solve_steady
from .solve.timestepping import ThetaScheme, initial_state, theta_steps

#: Public names imported on first use (PEP 562): post-processing, homogenization,
#: conductance fits, mesh quality and Landau dynamics are not needed to set up and
#: solve a problem, and keep ``import femheat`` close to ``import skfem``.
_LAZY = {
    **dict.fromkeys(("EnergyBalance", "boundary_heat_flow", "cell_averages",
                     "flux_at_vertices", "interface_heat_flow", "interface_report",
                     "vertex_temperature"), ".analysis.postprocess"),
    **dict.fromkeys(("crossover_resistance", "fit_resistance", "maxwell_garnett",
                     "sweep_resistance"), ".analysis.conductance"),
    **dict.fromkeys(("CellProblem", "Homogenization", "homogenize"),
                    ".analysis.homogenization"),
    **dict.fromkeys(("MeshQuality", "check_mesh_quality", "mesh_quality"), ".mesh.quality"),
    "boundary_normal": ".mesh.normals",
    **dict.fromkeys(("LandauScheme", "landau_steps"), ".solve.landau"),
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'femheat' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "BoundaryConditionError", "Convection", "EnergyBalance", "FemheatInputError", "FreeSlip",
    "NoSlip", "SlipLength", "TangentialFlux",
    "HeatFlux", "HeatProblem", "Insulated", "KapitzaResistance", "MODELS", "Material",
    "MeshError", "MixedSystem", "RegionError", "RegionMesh", "SolverError", "State",
    "Temperature", "ThetaScheme", "LandauScheme", "landau_steps", "assemble", "boundary_heat_flow", "cell_averages", "consistent_flux",
    "flux_at_vertices", "initial_state", "interface_heat_flow", "interface_report",
    "load_mesh", "solve_steady", "theta_steps", "vertex_temperature",
    "CellProblem", "Homogenization", "homogenize", "crossover_resistance", "fit_resistance",
    "maxwell_garnett", "sweep_resistance", "MeshQuality", "check_mesh_quality", "mesh_quality",
    "boundary_normal",
]
