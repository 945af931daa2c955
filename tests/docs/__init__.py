"""Tests that run the code examples of README.md and docs/ and check the module map."""
