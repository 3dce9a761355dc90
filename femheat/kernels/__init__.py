"""Nonlocal kernel conduction (seed 004 eq. 35): kernels, cell-pair quadrature, operators."""
