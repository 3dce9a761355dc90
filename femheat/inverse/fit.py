r"""Nonlinear least squares for any forward model p -> signal, with honest uncertainty.

The fit minimises

    χ²(p) = Σ_d Σ_i ((f_d,i(p) − y_d,i)/σ_d,i)² + Σ_k ((p_k − μ_k)/s_k)²

(data sets d, Gaussian priors μ_k ± s_k) with :func:`scipy.optimize.least_squares`
(trust-region reflective, bounds) over z = ln p for positive parameters (else
z = p/|p₀|). The Jacobian J = ∂f/∂z is the forward model's own exact one when it
has a ``jacobian_p(p)`` method (∂f/∂p, e.g. the tangent-linear solves of
:class:`~femheat.inverse.frequency.FrequencyForward`; ``jacobian = "tangent"``,
the default where available), else finite differences (``"central"`` or
``"forward"``, relative step ``step`` in p; ``"fd"`` = central), and is reused for
everything after the fit:

* covariance C_z = (J_wᵀ J_w)⁻¹ with J_w = J/σ (plus the prior rows), mapped to p
  (C_p = D C_z D, D = diag(∂p/∂z)); the correlation matrix; 95 % intervals
  exp(z ± q σ_z) for ln p (p ± q σ_p otherwise), q the normal quantile when the
  noise is given and Student's t with n − m degrees of freedom when it is estimated
  from the residuals (σ_d² = Σ r² / (n_d − m n_d/n), per data set);
* the normalised sensitivities S_p = ∂ ln f/∂ ln p = (∂f/∂z)/f (ln-p parameters;
  (p/|p₀|)(∂f/∂z)/f otherwise) versus the independent variable, where |f| is above
  10⁻³ of its largest value (NaN elsewhere);
* identifiability: the columns of J_w are normalised and their singular values
  computed; a ratio below ``singular_ratio`` names the combination of parameters
  along the null vector (a product when the ln p components are equal and
  opposite, a sum when the p components are), and a correlation |ρ| above
  ``collinearity`` warns naming the pair.

A Monte-Carlo option refits ``monte_carlo`` synthetic data sets f(p̂) + σ ε and
reports the spread of the refitted parameters (for strongly nonlinear parameters).

The forward model is any callable ``forward(p: ndarray) -> ndarray`` returning the
model signal at all data points of all data sets, concatenated in their order
(:class:`~femheat.inverse.forward.CaseForward` for case files; an FDTR model from
another module plugs in the same way).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import FemheatInputError, SolverError
from .data import Dataset
from .parameters import FitParameter

__all__ = ["FitResult", "fit", "jacobian", "sensitivities", "identifiability",
           "SensitivityAnalysis", "sensitivity_analysis"]

log = logging.getLogger(__name__)

Forward = Callable[[np.ndarray], np.ndarray]


class _Counted:
    """The forward model with a cache of the last evaluations and a solve counter."""

    def __init__(self, forward: Forward, parameters: Sequence[FitParameter], size: int):
        self.forward, self.parameters, self.size = forward, list(parameters), size
        self.calls = 0
        self._cache: dict[bytes, np.ndarray] = {}

    def p(self, z: np.ndarray) -> np.ndarray:
        return np.array([q.from_z(v) for q, v in zip(self.parameters, z)])

    def __call__(self, z: np.ndarray) -> np.ndarray:
        key = np.asarray(z, float).tobytes()
        if key not in self._cache:
            f = np.concatenate([np.ravel(a) for a in _as_list(self.forward(self.p(z)))])
            self.calls += 1
            if f.size != self.size:
                raise FemheatInputError(f"the forward model returned {f.size} values for "
                                        f"{self.size} data points")
            if not np.all(np.isfinite(f)):
                raise SolverError(f"the forward model returned non-finite values at "
                                  f"p = {self.p(z).tolist()}")
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = f
        return self._cache[key]


def _as_list(f: Any) -> list:
    return list(f) if isinstance(f, (list, tuple)) else [f]


JACOBIANS = ("auto", "tangent", "fd", "central", "forward")


def _jacobian_method(forward: Forward, method: str) -> str:
    """The finite-difference scheme or ``"tangent"`` for ``method`` and ``forward``."""
    if method not in JACOBIANS:
        raise FemheatInputError(f"jacobian = {method!r}; use one of {', '.join(JACOBIANS)}")
    exact = callable(getattr(forward, "jacobian_p", None))
    if method == "tangent" and not exact:
        raise FemheatInputError("jacobian = 'tangent': this forward model has no exact "
                                "derivatives (jacobian_p); use 'fd'")
    if method == "auto":
        return "tangent" if exact else "central"
    return "central" if method == "fd" else method


def _jacobian_z(model: _Counted, z: np.ndarray, method: str, step: float) -> np.ndarray:
    """∂f/∂z: the forward's ``jacobian_p`` (method ``"tangent"``) times ∂p/∂z, or
    finite differences; for ln p the step h is relative in p."""
    method = _jacobian_method(model.forward, method)
    if method == "tangent":
        p = model.p(z)
        Jp = np.asarray(model.forward.jacobian_p(p), dtype=float)
        dpdz = np.array([v if q.log else q.scale for q, v in zip(model.parameters, p)])
        return Jp * dpdz
    f0 = model(z)
    J = np.empty((f0.size, z.size))
    for j in range(z.size):
        h = step * (1.0 if model.parameters[j].log else max(abs(z[j]), 1.0))
        zp = z.copy()
        zp[j] += h
        if method == "central":
            zm = z.copy()
            zm[j] -= h
            J[:, j] = (model(zp) - model(zm)) / (2 * h)
        else:
            J[:, j] = (model(zp) - f0) / h
    return J


def jacobian(forward: Forward, parameters: Sequence[FitParameter], p: Optional[Sequence[float]] = None,
             *, method: str = "central", step: float = 1e-3) -> np.ndarray:
    """∂f/∂ln p (ln-p parameters) or ∂f/∂(p/|p₀|), shape (points, parameters).

    ``method``: ``"central"``/``"forward"``/``"fd"`` differences, ``"tangent"`` (the
    forward's ``jacobian_p``) or ``"auto"`` (tangent where available)."""
    params = [_checked(q) for q in parameters]
    p = np.array([q.initial for q in params] if p is None else p, dtype=float)
    z = np.array([q.to_z(v) for q, v in zip(params, p)])
    f0 = np.concatenate([np.ravel(a) for a in _as_list(forward(p))])
    return _jacobian_z(_Counted(forward, params, f0.size), z, method, step)


def sensitivities(forward: Forward, parameters: Sequence[FitParameter],
                  p: Optional[Sequence[float]] = None, *, method: str = "central",
                  step: float = 1e-3, J: Optional[np.ndarray] = None,
                  f: Optional[np.ndarray] = None) -> np.ndarray:
    r"""S_p = ∂ ln f/∂ ln p at ``p`` (default: the initial values), (points, parameters).

    NaN where |f| < 10⁻³ max|f| (the logarithmic sensitivity is undefined at f = 0).
    """
    params = [_checked(q) for q in parameters]
    p = np.array([q.initial for q in params] if p is None else p, dtype=float)
    if f is None:
        f = np.concatenate([np.ravel(a) for a in _as_list(forward(p))])
    if J is None:
        J = jacobian(forward, params, p, method=method, step=step)
    factor = np.array([1.0 if q.log else v / q.scale for q, v in zip(params, p)])
    with np.errstate(divide="ignore", invalid="ignore"):
        S = J * factor / f[:, None]
    S[np.abs(f) < 1e-3 * np.abs(f).max(), :] = np.nan
    return S


def _checked(q: FitParameter) -> FitParameter:
    q.check()
    return q


def _combination(names: Sequence[str], v: np.ndarray, p: np.ndarray,
                 params: Sequence[FitParameter]) -> str:
    """Words for the combination of parameters that the data leave free along v."""
    big = np.abs(v) > 0.2 * np.abs(v).max()
    idx = np.flatnonzero(big)
    names = [names[i] for i in idx]
    dp = np.array([v[i] * (p[i] if params[i].log else params[i].scale) for i in idx])
    dz = np.array([v[i] if params[i].log else v[i] * params[i].scale / p[i] for i in idx])
    if len(idx) == 2 and abs(abs(dz[0]) - abs(dz[1])) < 0.05 * abs(dz).max() \
            and dz[0] * dz[1] < 0:
        what = f"only their product {names[0]} * {names[1]}"
    elif len(idx) == 2 and abs(abs(dz[0]) - abs(dz[1])) < 0.05 * abs(dz).max():
        what = f"only their ratio {names[0]} / {names[1]}"
    elif len(idx) == 2 and abs(abs(dp[0]) - abs(dp[1])) < 0.05 * abs(dp).max() \
            and dp[0] * dp[1] < 0:
        what = f"only their sum {names[0]} + {names[1]}"
    else:
        terms = " + ".join(f"{c:+.3g} d ln({n})" for c, n in zip(dz / abs(dz).max(), names))
        what = f"nothing along the direction {terms} = 0 of the signal"
    return f"{', '.join(names)} are not separately identifiable: the data determine {what}"


def identifiability(Jw: np.ndarray, params: Sequence[FitParameter], p: np.ndarray,
                    singular_ratio: float = 1e-7) -> Optional[str]:
    """None, or the message naming the parameters the weighted Jacobian cannot separate."""
    names = [q.key for q in params]
    norms = np.linalg.norm(Jw, axis=0)
    for n, c in zip(names, norms):
        if not c > 0:
            return f"{n} does not change the signal at all (zero sensitivity); fix it"
    _, s, vt = np.linalg.svd(Jw / norms, full_matrices=False)
    if s[-1] < singular_ratio * s[0]:
        v = vt[-1] / norms  # back to the z scaling
        return _combination(names, v / np.abs(v).max(), p, params) + \
            f" (singular-value ratio {s[-1] / s[0]:.1e})"
    return None


def _correlation(cov: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d)


def _collinear_pairs(corr: np.ndarray, names: Sequence[str], limit: float) -> list[str]:
    out = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if abs(corr[i, j]) > limit:
                out.append(f"{names[i]} and {names[j]} are nearly collinear "
                           f"(correlation {corr[i, j]:+.4f})")
    return out


@dataclass
class FitResult:
    """The outcome of :func:`fit`; :meth:`to_dict` is the JSON report's body."""

    keys: list[str]
    initial: np.ndarray
    values: np.ndarray
    std: np.ndarray
    interval: np.ndarray                    # (m, 2), 95 %
    covariance: np.ndarray                  # in p, SI
    correlation: np.ndarray
    datasets: list[Dataset]
    fitted: list[np.ndarray]                # model signal per data set at p̂
    noise: list[np.ndarray]                 # σ used per data set
    noise_estimated: list[bool]
    chi2: float
    dof: int
    forward_solves: int
    iterations: int
    message: str
    at_bound: list[str]
    sensitivities_initial: list[np.ndarray]  # per data set, (points, m)
    sensitivities: list[np.ndarray]          # at p̂
    warnings: list[str] = field(default_factory=list)
    monte_carlo: Optional[dict] = None
    confidence: float = 0.95

    def residuals(self) -> list[np.ndarray]:
        return [f - d.signal for f, d in zip(self.fitted, self.datasets)]

    def as_dict(self) -> dict[str, float]:
        """{key: fitted value}."""
        return dict(zip(self.keys, map(float, self.values)))

    def contains(self, truth: Sequence[float]) -> np.ndarray:
        """Whether each true value lies in its reported interval."""
        t = np.asarray(truth, float)
        return (self.interval[:, 0] <= t) & (t <= self.interval[:, 1])

    def to_dict(self) -> dict:
        params = {}
        for i, k in enumerate(self.keys):
            params[k] = {"value": float(self.values[i]), "initial": float(self.initial[i]),
                         "std": float(self.std[i]),
                         "interval_95": [float(v) for v in self.interval[i]],
                         "at_bound": k in self.at_bound}
            if self.monte_carlo:
                params[k]["monte_carlo"] = self.monte_carlo["parameters"][k]
        return {
            "parameters": params,
            "correlation": self.correlation.tolist(),
            "covariance": self.covariance.tolist(),
            "chi2": self.chi2, "dof": self.dof,
            "reduced_chi2": self.chi2 / max(self.dof, 1),
            "datasets": [{"name": d.name, "points": int(d.x.size),
                          "noise_sigma": float(np.median(s)), "noise_estimated": e,
                          "rms_residual": float(np.sqrt(np.mean((f - d.signal) ** 2)))}
                         for d, f, s, e in zip(self.datasets, self.fitted, self.noise,
                                               self.noise_estimated)],
            "forward_solves": self.forward_solves, "iterations": self.iterations,
            "message": self.message, "warnings": self.warnings,
            "monte_carlo": None if not self.monte_carlo else
            {k: v for k, v in self.monte_carlo.items() if k != "samples"},
        }


@dataclass
class SensitivityAnalysis:
    """Before any fit: S_p = ∂ ln f/∂ ln p (points, parameters), the correlation matrix
    of the parameter estimates that data of noise σ would give, C = (J_wᵀJ_w)⁻¹
    normalised (J_w = (∂f/∂z)/σ), and the nearly collinear pairs (|ρ| > limit)."""

    keys: list[str]
    values: np.ndarray
    sensitivities: np.ndarray
    correlation: np.ndarray
    collinear: list[tuple[str, str, float]]
    messages: list[str]


def sensitivity_analysis(forward: Forward, parameters: Sequence[FitParameter],
                         p: Optional[Sequence[float]] = None, *, sigma: Any = 1.0,
                         method: str = "auto", step: float = 1e-3,
                         collinearity: float = 0.95) -> SensitivityAnalysis:
    """Sensitivities and identifiability at ``p`` (default: the initial values), with
    a warning naming every pair whose estimates would correlate beyond
    ``collinearity`` (item 3 of issue 12: the analysis made before any fit)."""
    params = [_checked(q) for q in parameters]
    p = np.array([q.initial for q in params] if p is None else p, dtype=float)
    f = np.concatenate([np.ravel(a) for a in _as_list(forward(p))])
    J = jacobian(forward, params, p, method=method, step=step)
    S = sensitivities(forward, params, p, J=J, f=f)
    Jw = J / np.broadcast_to(np.asarray(sigma, dtype=float), f.shape)[:, None]
    with np.errstate(all="ignore"):
        corr = _correlation(np.linalg.inv(Jw.T @ Jw))
    names = [q.key for q in params]
    pairs = [(names[i], names[j], float(corr[i, j])) for i in range(len(names))
             for j in range(i + 1, len(names)) if abs(corr[i, j]) > collinearity]
    messages = _collinear_pairs(corr, names, collinearity)
    for w in messages:
        warnings.warn(f"sensitivity analysis: {w}; only a combination of them is "
                      "determined by these data", UserWarning, stacklevel=2)
    return SensitivityAnalysis(names, p, S, corr, pairs, messages)


def _quantile(estimated: bool, dof: int, confidence: float) -> float:
    from scipy import stats

    a = 0.5 + confidence / 2
    return float(stats.t.ppf(a, dof) if estimated else stats.norm.ppf(a))


def fit(forward: Forward, datasets: Sequence[Dataset], parameters: Sequence[FitParameter], *,
        jacobian: str = "auto", step: float = 1e-3, monte_carlo: int = 0,
        seed: Optional[int] = None, collinearity: float = 0.95,
        singular_ratio: float = 1e-7, max_evaluations: int = 60,
        tolerance: float = 1e-8, confidence: float = 0.95) -> FitResult:
    """Fit ``forward`` to ``datasets`` by nonlinear least squares (module docstring).

    Parameters
    ----------
    forward
        p (physical values, in the order of ``parameters``) -> model signal at every
        point of every data set, concatenated (or a list of one array per set).
    datasets
        :class:`~femheat.inverse.data.Dataset` s; a set without ``sigma`` gets its
        noise estimated from the residuals.
    parameters
        :class:`~femheat.inverse.parameters.FitParameter` s with their initial values.
    jacobian, step
        ``"auto"`` (default: ``"tangent"`` when the forward model has ``jacobian_p``,
        else ``"central"``), ``"tangent"``, ``"fd"``/``"central"`` or ``"forward"``
        finite differences with relative step ``step`` in p.
    monte_carlo
        Number of refits on resampled noise (0: none); ``seed`` for the noise.
    collinearity
        |correlation| above which a pair is warned about (before and after the fit).
    singular_ratio
        Smallest/largest singular value of the column-normalised weighted Jacobian
        below which the fit is refused, naming the unidentifiable combination.
    """
    from scipy.optimize import least_squares

    jacobian = _jacobian_method(forward, jacobian)
    params = [_checked(FitParameter(q.key, q.initial, q.lower, q.upper, q.prior, q.log))
              for q in parameters]
    names = [q.key for q in params]
    m = len(params)
    if not datasets:
        raise FemheatInputError("a fit needs at least one data set")
    sizes = [d.x.size for d in datasets]
    n = int(sum(sizes))
    estimated = [d.sigma is None for d in datasets]
    n_prior = sum(q.prior is not None for q in params)
    need = m + (1 if any(estimated) else 0)
    if n + n_prior < need or (any(estimated) and n <= m):
        raise FemheatInputError(
            f"too few data points: {n} points (and {n_prior} priors) for {m} parameters "
            f"({', '.join(names)}); a fit needs more points than parameters"
            + (" to estimate the noise" if any(estimated) else ""))
    cuts = np.cumsum([0] + sizes)
    y = np.concatenate([d.signal for d in datasets])
    sigma = np.concatenate([d.sigma if d.sigma is not None else
                            np.full(d.x.size, max(np.abs(d.signal).max(), 1e-300))
                            for d in datasets])
    model = _Counted(forward, params, n)
    z0 = np.array([q.to_z(q.initial) for q in params])
    lo, hi = np.array([q.z_bounds() for q in params]).T
    mu = np.array([q.prior[0] if q.prior else 0.0 for q in params])
    sp = np.array([q.prior[1] if q.prior else math.inf for q in params])
    dpdz = lambda z: np.array([q.from_z(v) if q.log else q.scale  # noqa: E731
                               for q, v in zip(params, z)])

    def residual(z):
        r = (model(z) - y) / sigma
        pr = (model.p(z) - mu) / sp
        return np.concatenate([r, pr[np.isfinite(sp)]])

    def jac(z):
        J = _jacobian_z(model, z, jacobian, step) / sigma[:, None]
        Jp = np.diag(dpdz(z) / sp)[np.isfinite(sp)]
        return np.vstack([J, Jp])

    # before the fit: sensitivities, identifiability, collinearity at the initial values
    J0 = jac(z0)
    f0 = model(z0)
    S0 = sensitivities(forward, params, model.p(z0), J=J0[:n] * sigma[:, None], f=f0)
    problem = identifiability(J0, params, model.p(z0), singular_ratio)
    if problem:
        raise FemheatInputError(f"singular Jacobian at the initial values: {problem}")
    notes: list[str] = []
    with np.errstate(all="ignore"):
        corr0 = _correlation(np.linalg.inv(J0.T @ J0))
    for w in _collinear_pairs(corr0, names, collinearity):
        notes.append(f"before the fit: {w}")
        warnings.warn(f"fit: {w} at the initial values; their individual values will be "
                      "poorly determined", UserWarning, stacklevel=2)

    def solve(zs, sig_y):
        nonlocal sigma
        sigma = sig_y
        return least_squares(residual, zs, jac=jac, bounds=(lo, hi), method="trf",
                             x_scale=1.0, xtol=tolerance, ftol=tolerance, gtol=tolerance,
                             max_nfev=max_evaluations)

    res = solve(z0, sigma)
    nfev = res.nfev
    if any(estimated):  # noise from the residuals, per data set; refit with those weights
        rr = model(res.x) - y
        new = sigma.copy()
        for i, d in enumerate(datasets):
            if estimated[i]:
                s = slice(cuts[i], cuts[i + 1])
                dof_i = max(sizes[i] - m * sizes[i] / n, 1.0)
                new[s] = max(math.sqrt(float(rr[s] @ rr[s]) / dof_i), 1e-300)
        if sum(estimated) > 1 or n_prior:
            res = solve(res.x, new)
            nfev += res.nfev
        else:
            sigma = new
    side = np.where(res.active_mask != 0, res.active_mask,  # at, or within 1 % of, a bound
                    np.where(res.x - lo < 1e-2, -1, np.where(hi - res.x < 1e-2, 1, 0)))
    names_bound = [names[i] for i in np.flatnonzero(side)]
    bound_txt = ", ".join(f"{names[i]} ran to its {'lower' if side[i] < 0 else 'upper'}"
                          f" bound {params[i].lower if side[i] < 0 else params[i].upper:g}"
                          for i in np.flatnonzero(side))
    if res.status == 0:
        raise SolverError(
            f"the fit did not converge in {max_evaluations} evaluations ({res.message})"
            + (f"; {bound_txt}: widen its bounds or fix it" if bound_txt else
               "; start closer to the solution or fix a parameter"))
    if bound_txt:
        notes.append(f"{bound_txt}: the interval is not meaningful there")
        warnings.warn(f"fit: {bound_txt}; widen its bounds or fix it", UserWarning,
                      stacklevel=2)
    z = res.x
    Jw = jac(z)
    problem = identifiability(Jw, params, model.p(z), singular_ratio)
    if problem:
        raise FemheatInputError(f"singular Jacobian at the fitted values: {problem}")
    cov_z = np.linalg.inv(Jw.T @ Jw)
    p = model.p(z)
    D = np.diag(dpdz(z))
    cov = D @ cov_z @ D
    corr = _correlation(cov_z)
    for w in _collinear_pairs(corr, names, collinearity):
        notes.append(f"after the fit: {w}")
        warnings.warn(f"fit: {w}", UserWarning, stacklevel=2)
    f = model(z)
    rr = (f - y) / sigma
    chi2 = float(rr @ rr)
    dof = n + n_prior - m
    q = _quantile(any(estimated), max(dof, 1), confidence)
    sz = np.sqrt(np.diag(cov_z))
    interval = np.array([[qq.from_z(zz - q * s), qq.from_z(zz + q * s)]
                         for qq, zz, s in zip(params, z, sz)])
    S = sensitivities(forward, params, p, J=Jw[:n] * sigma[:, None], f=f)
    split = lambda a: [a[cuts[i]:cuts[i + 1]] for i in range(len(sizes))]  # noqa: E731
    result = FitResult(names, np.array([q.initial for q in params]), p, np.sqrt(np.diag(cov)),
                       interval, cov, corr, list(datasets), split(f), split(sigma.copy()),
                       estimated, chi2, dof, model.calls, int(nfev), str(res.message),
                       names_bound, split(S0), split(S), notes, None, confidence)
    if monte_carlo:
        result.monte_carlo = _monte_carlo(solve, model, z, f, sigma, y, params, monte_carlo,
                                          seed)
        result.forward_solves = model.calls
    log.info("fit: %s after %d forward solves", result.as_dict(), model.calls)
    return result


def _monte_carlo(solve, model, z, f, sigma, y, params, count, seed) -> dict:
    """Refit ``count`` data sets f(p̂) + σε; the spread of the refitted parameters."""
    rng = np.random.default_rng(seed)
    samples = []
    y[:] = y  # the residual closes over y: replace its values in place
    original = y.copy()
    try:
        for _ in range(int(count)):
            y[:] = f + sigma * rng.standard_normal(f.size)
            samples.append(model.p(solve(z, sigma).x))
    finally:
        y[:] = original
    arr = np.array(samples)
    out = {"refits": int(count), "seed": seed, "samples": arr}
    out["parameters"] = {q.key: {"mean": float(arr[:, i].mean()), "std": float(arr[:, i].std(ddof=1)) if count > 1 else 0.0,
                                 "interval_95": [float(v) for v in np.percentile(arr[:, i], [2.5, 97.5])]}
                         for i, q in enumerate(params)}
    return out
