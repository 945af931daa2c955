"""Exception types of the engine; the CLI turns each into one line and exit status 2."""


class EngineError(Exception):
    """A problem the user can fix (bad input, missing file); never a bug in the engine."""


class DataError(EngineError, ValueError):
    """A data file that does not follow the data contract.

    The message names the file, the key, what was seen and what is expected.
    """
