"""Analysis layer: heat flows, energy balance and interface reports
(:mod:`.postprocess`), homogenization and interface-conductance studies."""
