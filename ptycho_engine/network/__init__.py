"""Generators: plain ``nn.Module``s mapping diffraction to complex object patches (no physics)."""

from ptycho_engine.network.registry import GENERATORS, build_generator, pattern_estimate

__all__ = ["GENERATORS", "build_generator", "pattern_estimate"]
