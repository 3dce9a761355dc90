"""Physics layer: materials (κ, C, τ, l per region), boundary, wall and interface
conditions, and the expressions of position and time that case files may use."""
