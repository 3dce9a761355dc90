"""Visuals layer: off-screen PyVista renders and matplotlib plots of results."""
