r"""Transient kernel runs with several memory modes (``[model] memory = [...]``).

The pipeline counterpart of :func:`femheat.kernels.pipeline.theta_steps_kernel` for
:class:`~femheat.kernels.memory_modes.MultiModeTheta`: the same states, heat flows and
energy audit, with the memory load summed over the modes. The residual of the
constrained rows (their reactions are the outflows H_b [W]) is

.. math::
    r = M_C\frac{T^{n+1}-T^n}{\Delta t} + c_f A T^\theta
        - \Big(\sum_m c_{m,m} q_m^n, \nabla\varphi\Big) - b^\theta ,
    \qquad c_f = \sum_m w_m c_{f,m},

with c_{f,m} = θΔt/(θΔt + τₘ), c_{m,m} = τₘ/(θΔt + τₘ). ``KernelState.flux`` is the
total Σₘ qₘ [W m⁻²] (ncells, d).
"""

from __future__ import annotations

from typing import Iterator, Optional

import numpy as np

from .memory_modes import MultiModeTheta
from .pipeline import KernelState, KernelSystem

__all__ = ["theta_steps_kernel_modes"]


def theta_steps_kernel_modes(system: KernelSystem, dt: float, end: float, theta: float,
                             initial: KernelState) -> Iterator[tuple[float, KernelState]]:
    """Yield ``(t, state)`` of the multi-mode θ-scheme from ``initial`` (yielded first)
    to ``end``; modes with τ > 0 start at q = 0, instantaneous ones at wₘ q[T⁰]."""
    p, op = system.problem, system.operator
    ref = system.reference if system.fixed.size else float(np.mean(initial.temperature))
    stepper = MultiModeTheta(op, system.capacity, dt, theta, modes=p.memory,
                             source=p.source if system.timed_source else system.source_at(0.0),
                             temperature=system.shifted_temperature(ref))
    system.stepper = stepper
    Mc = system.capacity_matrix
    cf, th = stepper.cf, stepper.theta
    prev: Optional[KernelState] = None
    prev_T = initial.temperature - ref
    b_prev = system.load(initial.time)
    mem_prev: Optional[np.ndarray] = None
    for t, T in stepper.run(initial.temperature - ref, end, t_start=initial.time):
        op_T = T
        T = T + ref
        if prev is None:
            state = KernelState(t, T, stepper.flux.copy(), dict(initial.heat_flow),
                                initial.source, 0.0)
        else:
            b_new = system.load(t)
            b_th = th * b_new + (1 - th) * b_prev
            b_prev = b_new
            step = t - prev.time
            T_th = th * op_T + (1 - th) * prev_T
            r = Mc @ (op_T - prev_T) / step + cf * op.apply(T_th) - b_th - mem_prev
            state = KernelState(t, T, stepper.flux.copy(), system.heat_flows(r),
                                float(b_th.sum()), float(r[system.free].sum()))
        mem_prev = system.flow_load(np.tensordot(stepper.cm_modes, stepper.mode_flux, axes=1))
        prev, prev_T = state, op_T
        yield t, state
