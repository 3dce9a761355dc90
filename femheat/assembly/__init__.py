"""Assembly layer: the weak forms written once (:mod:`.forms`, :mod:`.gk`), the
problem statement (:class:`HeatProblem`) and the assembled mixed system."""
