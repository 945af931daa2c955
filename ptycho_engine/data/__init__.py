"""Diffraction data: loading and validation, grouping of scan positions, simulation."""
