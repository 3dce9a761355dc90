"""I/O layer: case files (:mod:`.case`) and the writers of VTU/PVD series,
history and summary files (:mod:`.writers`)."""
