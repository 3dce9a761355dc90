"""Pipeline layer: case -> problem -> assembly -> solve -> stream of states ->
writers and analysis, for every registered model (:mod:`.runner`)."""
