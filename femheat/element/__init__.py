"""Element layer: femheat's own H(div) elements (:mod:`.hdiv`), the second- and
third-order Nédélec tetrahedra (:mod:`.hcurl`), scikit-fem's RT0 and P0 storing their
cell-constant divergence / gradient once per cell (:mod:`.lowest`) and the choice of
the flux/temperature pair per model and degree (:mod:`.spaces`)."""

from .hcurl import ElementTetN1Curl2, ElementTetN1Curl3
from .hdiv import (ElementTetBDM1, ElementTetBDM2, ElementTetRT2, ElementTriBDM1G,
                   ElementTriBDM2G, ElementTriRT2G)

__all__ = ["ElementTetBDM1", "ElementTetBDM2", "ElementTetN1Curl2", "ElementTetN1Curl3",
           "ElementTetRT2",
           "ElementTriBDM1G", "ElementTriBDM2G", "ElementTriRT2G"]
