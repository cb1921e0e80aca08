"""User-facing errors: each carries one line that says what is wrong and what to do."""


class DseError(Exception):
    """A problem the user can fix (bad input, missing tool or platform).

    The CLI prints ``str(error)`` as a single line and exits non-zero; nothing
    expensive has run when one of these is raised during preflight."""


class SpaceError(DseError):
    """A design-space file is malformed or names something unknown."""

    def __init__(self, path, problem, parameter=None):
        where = f"{path}: parameter '{parameter}'" if parameter else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.parameter = parameter
        self.problem = problem


class ToolFailure(Exception):
    """One tool run of one evaluation failed.

    ``kind`` says whose failure it is: ``design`` (the tool failed on this point:
    recorded as failed), ``timeout`` (not recorded: the next run tries the point
    again) or ``environment`` (the machine, not the point: the run stops)."""

    def __init__(self, step, reason, log_path=None, log_tail="", kind="design"):
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
        self.log_path = log_path
        self.log_tail = log_tail
        self.kind = kind


class EnvironmentFault(DseError):
    """The machine failed the run, not the design (disk full, permission denied, a
    tool gone or killed, the store unwritable): the run stops with this one line and
    the point is not recorded, so the next run evaluates it."""
