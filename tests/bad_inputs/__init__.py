"""The bad-input corpus: files and environments the ``ptycho`` CLI must refuse cleanly.

Each case writes its input into a test's ``tmp_path`` (no committed binaries) and names the
fragment its one-line error must contain; ``test_cli.py`` runs every case through the CLI.
"""
