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
    """One tool run of one evaluation failed; the evaluation is recorded as failed."""

    def __init__(self, step, reason, log_path=None, log_tail=""):
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
        self.log_path = log_path
        self.log_tail = log_tail
