"""Pipeline layer: case -> problem -> assembly -> solve -> stream of states ->
writers and analysis, for every registered model (:mod:`.runner`); parameter
sweeps of many such runs as Dask tasks gathered into one table (:mod:`.sweep`,
:mod:`.sweep_params`)."""
