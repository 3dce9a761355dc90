"""``[materials.NAME]``: κ, C, τ, l per subdomain, or Landau coefficients."""

from __future__ import annotations

from ...errors import FemheatInputError
from ...physics.materials import Material
from ...registry import Model
from .common import check_keys, coefficient, number, table

__all__ = ["parse_materials"]


def _landau(spec: dict, where: str, name: str) -> Material:
    """materials.NAME.landau = {a, b, [c], Gamma, lambda, zeta} (seed 000 eq. 1):
    κ = ζ/|a|, τ = Γ/|a|, l² = λ/|a|, quartic b/|a|, sextic c/|a|; a < 0 is the ordered
    (thermal-domain) phase, for transient runs (checked by the model's steady solve)."""
    clash = sorted({"conductivity", "relaxation_time", "nonlocal_length"} & set(spec))
    if clash:
        raise FemheatInputError(
            f"{where}: give either landau or {clash} (landau defines kappa, tau and l)")
    tbl = spec["landau"]
    if not isinstance(tbl, dict):
        raise FemheatInputError(
            f"{where}.landau must be a table {{a, b, c, Gamma, lambda, zeta}}")
    keys = {"a", "b", "Gamma", "lambda", "zeta"}
    check_keys(tbl, keys | {"c"}, f"{where}.landau")
    missing = sorted(keys - set(tbl))
    if missing:
        raise FemheatInputError(f"{where}.landau: missing {missing}")
    v = {k: number(tbl[k], f"{where}.landau.{k}") for k in keys}
    c = number(tbl.get("c", 0.0), f"{where}.landau.c")
    return Material.from_landau(v["a"], v["b"], v["Gamma"], v["lambda"], v["zeta"],
                                coefficient(spec.get("heat_capacity", 1.0),
                                            f"{where}.heat_capacity"), name, c=c)


def _modes(spec: dict, where: str, name: str) -> Material:
    """materials.NAME.modes = [{conductivity, relaxation_time}, ...] (memory model):
    κ = Σκₘ; a given ``conductivity`` must equal that sum."""
    from ...physics.memory import MemoryMaterial

    if "relaxation_time" in spec:
        raise FemheatInputError(
            f"{where}: give either modes or relaxation_time (each mode has its own tau)")
    modes = spec["modes"]
    if not isinstance(modes, list) or not modes:
        raise FemheatInputError(
            f"{where}.modes must be a non-empty list of tables "
            "{conductivity = W/(m K), relaxation_time = s}")
    parsed = []
    for i, m in enumerate(modes):
        here = f"{where}.modes[{i}]"
        if not isinstance(m, dict):
            raise FemheatInputError(f"{here} must be a table {{conductivity, relaxation_time}}")
        check_keys(m, {"conductivity", "relaxation_time"}, here)
        for key in ("conductivity", "relaxation_time"):
            if key not in m:
                raise FemheatInputError(f"{here}.{key} is missing")
        parsed.append({k: coefficient(m[k], f"{here}.{k}") for k in m})
    cap = coefficient(spec.get("heat_capacity", 1.0), f"{where}.heat_capacity")
    ell = coefficient(spec.get("nonlocal_length", 0.0), f"{where}.nonlocal_length")
    mat = MemoryMaterial.from_modes(parsed, cap, name, ell)
    if "conductivity" in spec:
        mat = MemoryMaterial(coefficient(spec["conductivity"], f"{where}.conductivity"), cap,
                             mat.relaxation_time, name=name, modes=mat.modes,
                             nonlocal_length=ell)
    return mat


def parse_materials(data: dict, model: Model, transient: bool) -> dict[str, Material]:
    """One :class:`Material` per table; the model says which keys it requires."""
    out: dict[str, Material] = {}
    for name, spec in table(data, "materials", "").items():
        where = f"materials.{name}"
        if not isinstance(spec, dict):
            raise FemheatInputError(f"{where} must be a table")
        check_keys(spec, set(model.material_keys), where)
        if "landau" in spec:
            out[name] = _landau(spec, where, name)
            continue
        if "modes" in spec:
            out[name] = _modes(spec, where, name)
            continue
        if "conductivity" not in spec:
            raise FemheatInputError(f"{where}.conductivity is missing (W/(m K))")
        needed = dict(model.required_material_keys)
        if transient:
            needed.update(model.transient_material_keys)
        for key, why in needed.items():
            if key not in spec:
                raise FemheatInputError(f"{where}.{key} is missing; {why}")
        out[name] = Material(
            coefficient(spec["conductivity"], f"{where}.conductivity"),
            coefficient(spec.get("heat_capacity", 1.0), f"{where}.heat_capacity"),
            coefficient(spec.get("relaxation_time", 0.0), f"{where}.relaxation_time"),
            name=name,
            nonlocal_length=coefficient(spec.get("nonlocal_length", 0.0),
                                        f"{where}.nonlocal_length"))
    return out
