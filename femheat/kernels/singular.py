r"""Singular and near cell pairs of non-smooth kernels: the near-pair rules of
:class:`~femheat.kernels.quadrature.CellPairQuadrature`.

:class:`_SingularPairs` is a mixin holding the methods that integrate touching and
near pairs of cells for kernels singular or kinked at r = 0 (the method and its
accuracy are described in :mod:`femheat.kernels.quadrature`): the exact 1D
reduction W = ∫ g(|u|) φ(u) du, and in 2D/3D the double-boundary formula with the
kernel potential H (ΔH = g), Duffy splits for edges sharing a vertex, the Ψ
reduction (Δ₂Ψ = H) for coplanar faces and the semi-analytic integrals of the odd
terms of H on touching tetrahedra. It uses the attributes that
:class:`~femheat.kernels.quadrature.CellPairQuadrature` sets (``kernel``, ``tol``,
``dim``, ``vertices``, ``diameter``).
"""

from __future__ import annotations

import numpy as np

from .simplex_rules import _affine, _gl01, simplex_rule

__all__: list[str] = []


class _SingularPairs:
    """Near-pair (singular) rules of :class:`~femheat.kernels.quadrature.CellPairQuadrature`."""

    # ---------------------------------------------------------- near pairs
    def _n_line(self) -> int:
        """Gauss–Legendre points per edge in the singular rules (error ~ n^-6, measured)."""
        return 12 if self.tol >= 1e-5 else (16 if self.tol >= 1e-7 else 24)

    def _near(self, I, J, A, b, lam, chunk: int = 256) -> np.ndarray:
        if I.size > chunk:  # bound the (pairs × points²) work arrays
            out = np.empty(I.size)
            for s0 in range(0, I.size, chunk):
                sl = slice(s0, s0 + chunk)
                out[sl] = self._near(I[sl], J[sl], A, b if b.ndim == 1 else b[sl],
                                     None if lam is None else lam[sl], chunk)
            return out
        vI = self.vertices[I]
        vJ = _affine(self.vertices[J], A, b if b.ndim == 1 else b[:, None, :])
        if self.dim == 1:
            return self._near_1d(vI[:, :, 0], vJ[:, :, 0], lam)
        if self.dim == 2:
            return self._near_2d(vI, vJ, lam)
        return self._near_3d(vI, vJ, lam)

    def _g(self, r, lam):
        if lam is None:
            return self.kernel.profile(r)
        return self.kernel.profile(r / lam) / lam**self.dim

    def _H(self, r, lam):
        if lam is None:
            return self.kernel.potential(r)
        return self.kernel.potential(r / lam) * lam ** (2 - self.dim)

    def _near_1d(self, a, b, lam) -> np.ndarray:
        """Exact reduction W = ∫ g(|u|) φ(u) du with φ the trapezoidal overlap function."""
        a0, a1 = np.min(a, axis=1), np.max(a, axis=1)
        b0, b1 = np.min(b, axis=1), np.max(b, axis=1)
        # u = y − x ranges over [b0 − a1, b1 − a0]; φ has kinks at these four points
        knots = np.sort(np.stack([b0 - a1, b0 - a0, b1 - a1, b1 - a0], axis=1), axis=1)
        knots = np.concatenate([knots, np.zeros((a.shape[0], 1))], axis=1)  # also u = 0
        knots = np.sort(knots, axis=1)
        xg, wg = _gl01(24)
        total = np.zeros(a.shape[0])
        L = np.maximum(a1 - a0, b1 - b0)
        # graded sub-intervals towards each knot (handles kinks/singularities at u = 0)
        grading = np.concatenate([[0.0], np.geomspace(1e-9, 1.0, 18)])
        for k in range(knots.shape[1] - 1):
            lo, hi = knots[:, k], knots[:, k + 1]
            width = hi - lo
            ok = width > 1e-15 * L
            if not np.any(ok):
                continue
            for side in (0, 1):  # grade towards lo (first half) and hi (second half)
                for m in range(grading.size - 1):
                    t0, t1 = 0.5 * grading[m], 0.5 * grading[m + 1]
                    if side == 1:
                        t0, t1 = 1 - t1, 1 - t0
                    tt = t0 + (t1 - t0) * xg
                    u = lo[:, None] + width[:, None] * tt[None, :]
                    phi = np.maximum(0.0, np.minimum(a1[:, None], b1[:, None] - u)
                                     - np.maximum(a0[:, None], b0[:, None] - u))
                    gv = self._g(np.abs(u), None if lam is None else lam[:, None])
                    total += np.where(ok, (gv * phi) @ wg * width * (t1 - t0), 0.0)
        return total

    def _near_2d(self, vI, vJ, lam) -> np.ndarray:
        """Double-boundary formula with the potential H on the 3 × 3 edge pairs."""
        P = vI.shape[0]
        out = np.zeros(P)
        edges = ((1, 2), (2, 0), (0, 1))
        xg, wg = _gl01(self._n_line())
        for ea in edges:
            pa, qa = vI[:, ea[0]], vI[:, ea[1]]
            na = self._edge_normal(vI, ea)
            for eb in edges:
                pb, qb = vJ[:, eb[0]], vJ[:, eb[1]]
                nb = self._edge_normal(vJ, eb)
                val = self._edge_pair(pa, qa, pb, qb, lam, xg, wg, self._H)
                out -= np.einsum("pk,pk->p", na, nb) * val
        return out

    @staticmethod
    def _edge_normal(v, e):
        """Outward unit normal of edge e of triangles v (P, 3, 2)."""
        p, q = v[:, e[0]], v[:, e[1]]
        opp = v[:, 3 - e[0] - e[1]]
        t = q - p
        n = np.stack([t[:, 1], -t[:, 0]], axis=1)
        n /= np.linalg.norm(n, axis=1)[:, None]
        s = np.sign(np.einsum("pk,pk->p", n, p - opp))
        return n * s[:, None]

    def _edge_pair(self, pa, qa, pb, qb, lam, xg, wg, F) -> np.ndarray:
        """∫_{[pa,qa]} ∫_{[pb,qb]} F(|x − y|) ds dt for arrays of segment pairs (any dim)."""
        P = pa.shape[0]
        La = np.linalg.norm(qa - pa, axis=1)
        Lb = np.linalg.norm(qb - pb, axis=1)
        scale = np.maximum(La, Lb)
        eps = 1e-9 * scale
        same = (np.linalg.norm(pa - pb, axis=1) < eps) & (np.linalg.norm(qa - qb, axis=1) < eps)
        same |= (np.linalg.norm(pa - qb, axis=1) < eps) & (np.linalg.norm(qa - pb, axis=1) < eps)
        # shared vertex: reorient both segments to start at it
        share = np.zeros(P, dtype=bool)
        s_a, s_b = pa.copy(), pb.copy()
        e_a, e_b = qa.copy(), qb.copy()
        for A0, A1 in ((pa, qa), (qa, pa)):
            for B0, B1 in ((pb, qb), (qb, pb)):
                hit = (np.linalg.norm(A0 - B0, axis=1) < eps) & ~same & ~share
                s_a[hit], e_a[hit], s_b[hit], e_b[hit] = A0[hit], A1[hit], B0[hit], B1[hit]
                share |= hit
        out = np.zeros(P)
        lamc = None if lam is None else lam
        if np.any(same):
            i = np.nonzero(same)[0]
            L = La[i]
            u = L[:, None] * xg[None, :]
            f = F(u, None if lamc is None else lamc[i, None])
            out[i] = 2.0 * ((L[:, None] - u) * f) @ wg * L
        if np.any(share):
            i = np.nonzero(share)[0]
            da = e_a[i] - s_a[i]
            db = e_b[i] - s_b[i]
            # Duffy: σ ≥ τ (τ = σu) and τ ≥ σ (σ = τu); F(σ|da − u db|) etc.
            tot = np.zeros(i.size)
            for swap in (False, True):
                vec = (da[:, None, :] - xg[None, :, None] * db[:, None, :]) if not swap else \
                      (xg[None, :, None] * da[:, None, :] - db[:, None, :])
                rho = np.linalg.norm(vec, axis=2)  # (P, n_u)
                r = rho[:, :, None] * xg[None, None, :]  # (P, n_u, n_sigma)
                f = F(r, None if lamc is None else lamc[i, None, None])
                tot += np.einsum("pus,u,s->p", f, wg, wg * xg)
            out[i] = tot * La[i] * Lb[i]
        rest = ~same & ~share
        if np.any(rest):
            i = np.nonzero(rest)[0]
            x = pa[i, None, :] + xg[None, :, None] * (qa[i] - pa[i])[:, None, :]
            y = pb[i, None, :] + xg[None, :, None] * (qb[i] - pb[i])[:, None, :]
            r = np.linalg.norm(x[:, :, None, :] - y[:, None, :, :], axis=3)
            f = F(r, None if lamc is None else lamc[i, None, None])
            out[i] = np.einsum("pab,a,b->p", f, wg, wg) * La[i] * Lb[i]
        return out

    # 3D ------------------------------------------------------------------
    def _Psi(self, r, lam):
        """Ψ with Δ₂Ψ = H (2D radial Laplacian), Ψ(0) = 0, for coplanar face pairs."""
        if lam is not None:
            return self._Psi(r / lam, None) * lam ** (4 - self.dim)
        k = self.kernel
        if hasattr(k, "_psi3"):
            return k._psi3(r)
        if not hasattr(self, "_psi_table"):
            from scipy import integrate, interpolate
            rmax = 8 * k._support()
            grid = np.unique(np.concatenate([[0.0], k.length * np.geomspace(1e-5, 1, 80),
                                             np.geomspace(k.length, rmax, 600)]))
            Ht = k.potential(grid) * grid
            inner = integrate.cumulative_trapezoid(Ht, grid, initial=0.0)
            inner[1:] /= grid[1:]
            psi = integrate.cumulative_trapezoid(inner, grid, initial=0.0)
            self._psi_table = interpolate.CubicSpline(grid, psi)
        return self._psi_table(r)

    def _near_3d(self, vI, vJ, lam) -> np.ndarray:
        """Double-boundary formula on the 4 × 4 face pairs of two tetrahedra."""
        P = vI.shape[0]
        out = np.zeros(P)
        faces = ((1, 2, 3), (0, 3, 2), (0, 1, 3), (0, 2, 1))
        # face rules: touching (non-coplanar) faces carry the r-cusp of H on a shared edge
        # or vertex, separated faces are smooth; orders from tol (measured on the cube test)
        # H varies on the kernel length: faces larger than it get composite rules
        # (a mixture of lengths names its shortest significant one: quadrature_length)
        ell = float(getattr(self.kernel, "quadrature_length", self.kernel.length))
        ratio = float(np.max(self.diameter)) / (ell * (1.0 if lam is None else float(np.min(lam))))
        extra = 0 if ratio <= 1.5 else 1
        if self.tol >= 1e-5:
            x2, w2 = simplex_rule(2, 6, extra)
            x2f, w2f = simplex_rule(2, 4, extra)
        elif self.tol >= 1e-7:
            x2, w2 = simplex_rule(2, 8, extra)
            x2f, w2f = simplex_rule(2, 6, extra)
        else:
            x2, w2 = simplex_rule(2, 8, 1)
            x2f, w2f = simplex_rule(2, 8, extra)
        xg, wg = _gl01(self._n_line())
        for fa in faces:
            Fa = vI[:, list(fa)]
            na, Aa = self._face_normal(vI, fa)
            for fb in faces:
                Fb = vJ[:, list(fb)]
                nb, Ab = self._face_normal(vJ, fb)
                nn = np.einsum("pk,pk->p", na, nb)
                val = np.zeros(P)
                scale = np.maximum(np.max(np.linalg.norm(Fa - Fa[:, :1], axis=2), axis=1), 1e-300)
                # coplanar faces: both in the same plane
                dist_plane = np.abs(np.einsum("pvk,pk->pv", Fb - Fa[:, :1], na)).max(axis=1)
                # touching: some vertex in common
                dmin = np.min(np.linalg.norm(Fa[:, :, None, :] - Fb[:, None, :, :], axis=3), axis=(1, 2))
                touching = dmin < 1e-9 * scale
                # coplanar touching faces (coincident or neighbours in one plane): the r-cusp
                # of H lies in the integration domain -> exact reduction to edge integrals
                coplanar = (dist_plane < 1e-9 * scale) & (np.abs(np.abs(nn) - 1) < 1e-9) & touching
                touch = touching & ~coplanar
                far = ~coplanar & ~touch
                if np.any(coplanar):
                    i = np.nonzero(coplanar)[0]
                    val[i] = self._coplanar(Fa[i], Fb[i], na[i], None if lam is None else lam[i],
                                            xg, wg)
                cusp = getattr(self.kernel, "_h_cusp", 0.0)
                for mask, (xr, wr) in ((touch, (x2, w2)), (far, (x2f, w2f))):
                    if np.any(mask):
                        i = np.nonzero(mask)[0]
                        lam_i = None if lam is None else lam[i, None, None]
                        ya = Fa[i, :1] + np.einsum("qj,pjk->pqk", xr, Fa[i, 1:] - Fa[i, :1])
                        yb = Fb[i, :1] + np.einsum("qj,pjk->pqk", xr, Fb[i, 1:] - Fb[i, :1])
                        r = np.linalg.norm(ya[:, :, None, :] - yb[:, None, :, :], axis=3)
                        f = self._H(r, lam_i)
                        if mask is touch and cusp:
                            # H = c₁ r + c₂ r² + c₃ r³ + O(r⁴): the odd (non-smooth) terms on
                            # the shared edge or vertex are integrated semi-analytically
                            c1, c3 = cusp
                            if lam is not None:
                                c1, c3 = c1 / lam[i] ** 2, c3 / lam[i] ** 4
                            c1b = c1[:, None, None] if np.ndim(c1) else c1
                            c3b = c3[:, None, None] if np.ndim(c3) else c3
                            f = f - c1b * r - c3b * r**3
                        val[i] = np.einsum("pab,a,b->p", f, wr, wr) * Aa[i] * Ab[i]
                        if mask is touch and cusp:
                            val[i] += c1 * self._distance_integral(Fa[i], Fb[i], nb[i], Aa[i], xg, wg, 1)
                            val[i] += c3 * self._distance_integral(Fa[i], Fb[i], nb[i], Aa[i], xg, wg, 3)
                out -= nn * val
        return out

    @staticmethod
    def _distance_integral(Fa, Fb, nb, Aa, xg, wg, k: int = 1) -> np.ndarray:
        """∫_fa ∫_fb |x − y|^k dA_y dA_x (k odd) for triangles in 3D (touching allowed).

        Inner integral exact up to 1D quadrature: with p the projection of x on fb's plane,
        h = dist(x, plane), s = |y − p| and ρ = √(h² + s²), ρ^k = Δ₂Q(s) with
        Q'(s) = (ρ^{k+2} − h^{k+2})/((k+2)s), so ∫_fb ρ^k dA = Σ_e ∫_e Q'(s) m_e·(y − p)/s dl
        (m_e the in-plane outward edge normals): smooth integrands, Gauss–Legendre on the
        edges. The outer integral over fa uses a composite degree-8 rule.
        """
        xo, wo = simplex_rule(2, 8, 1)
        X = Fa[:, :1] + np.einsum("qj,pjk->pqk", xo, Fa[:, 1:] - Fa[:, :1])  # (P, q, 3)
        hsig = np.einsum("pqk,pk->pq", X - Fb[:, None, 0], nb)  # signed height
        Pp = X - hsig[..., None] * nb[:, None, :]  # projections (P, q, 3)
        h = np.abs(hsig)
        total = np.zeros(X.shape[:2])
        for e0, e1 in ((0, 1), (1, 2), (2, 0)):
            a, b = Fb[:, e0], Fb[:, e1]
            opp = Fb[:, 3 - e0 - e1]
            L = np.linalg.norm(b - a, axis=1)
            m = np.cross(b - a, nb)
            m /= np.linalg.norm(m, axis=1)[:, None]
            m *= np.sign(np.einsum("pk,pk->p", m, a - opp))[:, None]
            y = a[:, None, :] + xg[None, :, None] * (b - a)[:, None, :]  # (P, n, 3)
            d = y[:, None, :, :] - Pp[:, :, None, :]  # (P, q, n, 3)
            s2 = np.einsum("pqnk,pqnk->pqn", d, d)
            mdot = np.einsum("pqnk,pk->pqn", d, m)  # = s · (m·ŝ)
            hh = h[:, :, None]
            # Q'(s)/s · (m·d) with Q'(s)/s = ((h²+s²)^{3/2} − h³)/(3 s²) = (h² + s² + h ρ + ...)
            rho = np.sqrt(hh * hh + s2)
            # (ρ^{k+2} − h^{k+2}) / ((k+2) s²) = Σ_{j=0}^{k+1} ρ^{k+1−j} h^j / ((k+2)(ρ + h))
            qs = sum(rho ** (k + 1 - j) * hh**j for j in range(k + 2)) / ((k + 2) * (rho + hh))
            total += np.einsum("pqn,n->pq", qs * mdot, wg) * L[:, None]
        return np.einsum("pq,q->p", total, wo) * Aa

    @staticmethod
    def _face_normal(v, f):
        a, b, c = v[:, f[0]], v[:, f[1]], v[:, f[2]]
        n = np.cross(b - a, c - a)
        area = 0.5 * np.linalg.norm(n, axis=1)
        n = n / (2 * area)[:, None]
        opp = v[:, 6 - sum(f)]
        s = np.sign(np.einsum("pk,pk->p", n, a - opp))
        return n * s[:, None], area

    def _coplanar(self, Fa, Fb, n, lam, xg, wg) -> np.ndarray:
        """∫_fa ∫_fb H for coplanar triangles via the 2D double-boundary formula with Ψ."""
        P = Fa.shape[0]
        out = np.zeros(P)
        edges = ((1, 2), (2, 0), (0, 1))

        def inplane_normal(F, e):
            p, q = F[:, e[0]], F[:, e[1]]
            opp = F[:, 3 - e[0] - e[1]]
            m = np.cross(q - p, n)
            m /= np.linalg.norm(m, axis=1)[:, None]
            s = np.sign(np.einsum("pk,pk->p", m, p - opp))
            return m * s[:, None]

        for ea in edges:
            ma = inplane_normal(Fa, ea)
            for eb in edges:
                mb = inplane_normal(Fb, eb)
                val = self._edge_pair(Fa[:, ea[0]], Fa[:, ea[1]], Fb[:, eb[0]], Fb[:, eb[1]], lam,
                                      xg, wg, self._Psi)
                out -= np.einsum("pk,pk->p", ma, mb) * val
        return out
