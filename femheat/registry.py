"""The model registry: every constitutive model is registered here once.

A model is one module in :mod:`femheat.models` that defines a subclass of
:class:`Model` and registers one instance with :func:`register`. Everything
that depends on the model asks the registry instead of testing names:

* the case-file parser (:mod:`femheat.io.case`) takes the ``[model]`` keys, the
  required material keys and the problem builder from it;
* :class:`~femheat.assembly.system.HeatProblem` validates its model-specific
  input through :meth:`Model.validate`;
* the runner (:mod:`femheat.pipeline.runner`) assembles, solves, streams the
  states, audits the energy balance and writes the fields through it;
* the CLI lists the models from it.

The built-in models (:mod:`femheat.models`) are loaded on the first lookup, as a
plugin registry does, so that this module imports nothing of the layers above
it. A third-party package registers its own model by calling :func:`register`
at import time.

Adding a model (see ``docs/architecture.md``)::

    # femheat/models/mymodel.py
    from ..registry import register
    from .mixed import MixedModel

    class MyModel(MixedModel):
        name = "mine"
        description = "one line for `femheat models` and the docs"
        ...

    register(MyModel())

and one import line in ``femheat/models/__init__.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from .errors import FemheatInputError

__all__ = ["Model", "register", "get_model", "MODELS"]

_REGISTRY: dict[str, "Model"] = {}
_LOADED = False


class Model:
    """A constitutive model and its route through the pipeline.

    Class attributes describe the model to the case-file layer; methods are its
    pipeline entry points. Subclasses override what differs (see
    :class:`femheat.models.mixed.MixedModel` for the mixed RT–DG family and
    :mod:`femheat.models.kernel` for the nonlocal kernel).

    Attributes
    ----------
    name
        The case-file name, ``[model] type = name``.
    description
        One line: the constitutive law.
    family
        ``"mixed"`` (RT–DG system, :class:`~femheat.assembly.system.MixedSystem`)
        or ``"kernel"`` (P1 temperature, nonlocal operator).
    options
        ``[model]`` keys besides ``type`` -> one-line meaning (units).
    material_keys
        Keys of ``[materials.NAME]`` this model reads -> meaning.
    required_material_keys
        Keys every material must give for this model, -> why (the error text).
    transient_material_keys
        Keys every material must give for a transient run, -> why.
    fields
        Names of the fields written per saved state (VTU point/cell data).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    family: ClassVar[str] = ""
    options: ClassVar[Mapping[str, str]] = {}
    material_keys: ClassVar[Mapping[str, str]] = {}
    required_material_keys: ClassVar[Mapping[str, str]] = {}
    transient_material_keys: ClassVar[Mapping[str, str]] = {}
    fields: ClassVar[tuple[str, ...]] = ()

    def has_viscous_term(self, problem) -> bool:
        """Whether ``problem`` assembles the GK viscous (l²) term with this model (what
        a run records about that term's discretization); False unless a model says so."""
        return False

    # --- case file ---------------------------------------------------------
    def parse_options(self, table: Mapping[str, Any], where: str) -> dict:
        """Validate the ``[model]`` table (without ``type``); return problem options."""
        raise NotImplementedError

    def build_problem(self, **parts: Any) -> Any:
        """The problem object from the parsed case sections."""
        raise NotImplementedError

    # --- problem -----------------------------------------------------------
    def validate(self, problem: Any) -> None:
        """Model-specific checks of a problem, before anything is assembled."""

    # --- pipeline ----------------------------------------------------------
    def assemble(self, problem: Any) -> Any:
        raise NotImplementedError

    def steady(self, system: Any, **options: Any) -> Any:
        raise NotImplementedError

    def initial_state(self, system: Any, temperature: Any = 0.0, flux: Any = None) -> Any:
        raise NotImplementedError

    def transient(self, system: Any, dt: float, end: float, theta: float,
                  initial: Any, origin: Any = None) -> Iterator[tuple[float, Any]]:
        """Yield ``(t, state)``, first the initial state; ``origin = (t0, n)`` continues
        a run that started at t0 after n steps (restart; same times as uninterrupted)."""
        raise NotImplementedError

    def state_arrays(self, state: Any) -> dict:
        """The arrays of a state for a restart file (a model that cannot restart
        raises NotImplementedError, and ``--resume`` is refused for it)."""
        raise NotImplementedError

    def state_from_arrays(self, system: Any, time: float, arrays: Mapping) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<femheat model {self.name!r}: {self.description}>"


def register(model: Model) -> Model:
    """Register ``model`` under ``model.name``; returns it (usable as a decorator
    on an instance-returning call). A second registration of a name is refused."""
    if not isinstance(model, Model) or not model.name:
        raise TypeError(f"register() needs a Model instance with a name, got {model!r}")
    if model.name in _REGISTRY and type(_REGISTRY[model.name]) is not type(model):
        raise ValueError(f"a model named {model.name!r} is already registered "
                         f"({_REGISTRY[model.name]!r})")
    _REGISTRY[model.name] = model
    return model


def _load() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        importlib.import_module("femheat.models")  # registers the built-in models


def get_model(name: str, where: str = "model") -> Model:
    """The registered model called ``name``; a clear error naming ``where`` if none."""
    _load()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise FemheatInputError(
            f"{where} = {name!r} is unknown; choose one of "
            f"{', '.join(repr(n) for n in _REGISTRY)}") from None


class _Models(Mapping):
    """Read-only view ``name -> Model`` of the registry (loads the built-ins)."""

    def __getitem__(self, name: str) -> Model:
        _load()
        return _REGISTRY[name]

    def __iter__(self) -> Iterator[str]:
        _load()
        return iter(list(_REGISTRY))

    def __len__(self) -> int:
        _load()
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return f"MODELS({', '.join(self)})"


#: All registered models, ``name -> Model`` (``"gk" in MODELS``, ``list(MODELS)``).
MODELS: Mapping[str, Model] = _Models()
