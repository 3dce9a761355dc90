"""Inverse problems: fit case-file parameters to measured curves, with sensitivities
and uncertainty (:mod:`.fit`), data sets (:mod:`.data`), free parameters
(:mod:`.parameters`), case-file forward models (:mod:`.forward`) and the report
(:mod:`.report`)."""

from .data import Dataset, read_data, write_data
from .fit import (FitResult, SensitivityAnalysis, fit, identifiability, jacobian,
                  sensitivities, sensitivity_analysis)
from .forward import CaseForward, JointForward
from .parameters import FitParameter, numeric_paths, parse_fit_parameters, resolve_parameters

__all__ = ["Dataset", "read_data", "write_data", "FitResult", "fit", "identifiability",
           "jacobian", "sensitivities", "SensitivityAnalysis", "sensitivity_analysis",
           "CaseForward", "JointForward", "FitParameter",
           "numeric_paths", "parse_fit_parameters", "resolve_parameters"]
