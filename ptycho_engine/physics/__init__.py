"""Differentiable physics as pure torch functions (see ``ptycho_engine.conventions``)."""
