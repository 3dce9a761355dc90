"""femheat's H(div) elements: exact on their spaces (value, divergence, gradient), normal-conforming.

Each element must reproduce a field of its own polynomial space exactly after
projection, including the Piola-mapped gradient that scikit-fem's H(div)
elements lack, on a distorted triangle mesh and on a tetrahedral mesh whose
cells list their vertices in scrambled order; and the normal component of an
arbitrary field must be continuous across every interior facet.
"""

import numpy as np
import skfem

from femheat.element.hdiv import ElementTetBDM1, ElementTetRT2, ElementTriBDM1G, ElementTriRT2G

def check(mesh, E, f, gradf, divf):
    b = skfem.Basis(mesh, E(), intorder=6)
    q = b.project(f)
    qi = b.interpolate(q)
    X = b.global_coordinates().value
    r = np.random.default_rng(1).standard_normal(b.N)
    fb0 = skfem.InteriorFacetBasis(mesh, E(), side=0, intorder=4)
    fb1 = skfem.InteriorFacetBasis(mesh, E(), side=1, intorder=4)
    a0 = np.einsum('ikl,ikl->kl', fb0.interpolate(r).value, fb0.normals.value)
    a1 = np.einsum('ikl,ikl->kl', fb1.interpolate(r).value, fb1.normals.value)
    scale = np.abs(f(X)).max()
    assert np.abs(qi.value - f(X)).max() < 1e-12 * scale
    assert np.abs(qi.div - divf(X)).max() < 1e-11 * scale
    assert np.abs(qi.grad - gradf(X)).max() < 1e-11 * scale
    assert np.abs(a0 - a1).max() < 1e-12 * np.abs(a0).max()

def test_hdiv_elements_exact_and_conforming():
    rng = np.random.default_rng(0)
    m2 = skfem.MeshTri.init_tensor(np.linspace(0,1,4), np.linspace(0,1,4)); 
    p = m2.p.copy(); p[:, (p[0]>0)&(p[0]<1)&(p[1]>0)&(p[1]<1)] += 0.05*rng.standard_normal((2, 4)); m2 = skfem.MeshTri(p, m2.t)
    m3 = skfem.MeshTet.init_tensor(*(np.linspace(0,1,4),)*3)
    t = m3.t.copy()
    for k in range(t.shape[1]): t[:, k] = t[rng.permutation(4), k]
    m3 = skfem.MeshTet1(m3.p, t)
    A2 = np.array([[1.,2.],[-0.5,3.]]); c2=np.array([0.3,-1.])
    lin2 = lambda x: c2.reshape(2,1,1) + np.einsum('ij,j...->i...', A2, x)
    glin2 = lambda x: np.broadcast_to(A2.reshape(2,2,1,1), (2,2)+x.shape[1:])
    check(m2, ElementTriBDM1G, lin2, glin2, lambda x: np.trace(A2)+0*x[0])
    rt2 = lambda x: lin2(x) + x*x[0]
    def grt2(x):
        g = np.array(glin2(x)).copy()
        for i in range(2):
            for j in range(2):
                g[i,j] = g[i,j] + (x[0] if i==j else 0) + (x[i] if j==0 else 0)
        return g
    check(m2, ElementTriRT2G, rt2, grt2, lambda x: np.trace(A2)+3*x[0])
    A3 = np.array([[1.,2.,0.5],[-0.5,3.,1.],[0.2,0.1,-1.]]); c3=np.array([0.3,-1.,2.])
    lin3 = lambda x: c3.reshape(3,1,1) + np.einsum('ij,j...->i...', A3, x)
    glin3 = lambda x: np.broadcast_to(A3.reshape(3,3,1,1), (3,3)+x.shape[1:])
    check(m3, ElementTetBDM1, lin3, glin3, lambda x: np.trace(A3)+0*x[0])
    rt3 = lambda x: lin3(x) + x*x[2]
    def grt3(x):
        g = np.array(glin3(x)).copy()
        for i in range(3):
            for j in range(3):
                g[i,j] = g[i,j] + (x[2] if i==j else 0) + (x[i] if j==2 else 0)
        return g
    check(m3, ElementTetRT2, rt3, grt3, lambda x: np.trace(A3)+4*x[2])
