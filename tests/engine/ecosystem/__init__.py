"""The engine in its surroundings: environment-only runs, loggers, console and figures."""
