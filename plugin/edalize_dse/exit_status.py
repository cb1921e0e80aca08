"""Every exit status of the command line, in one table (README "Exit status").

Each number has one meaning whichever command returns it; through FuseSoC
(``fusesoc run --target=dse``) the run's own status is FuseSoC's exit status too."""

from __future__ import annotations

import signal

OK = 0
BAD_INPUT = 2  # bad input, a missing tool or platform, a damaged store: nothing was evaluated
ENVIRONMENT = 3  # the machine failed mid-run (disk full, a platform file damaged...): fix it and re-run
ALL_FAILED = 4  # every evaluation failed on the design
NO_FEASIBLE = 5  # no evaluated point meets the QoR constraints
ALL_TIMED_OUT = 6  # every point ran past tool_timeout: nothing was measured or recorded
COMPARE_DOMINATES = 10  # compare: the new front dominates the baseline's
COMPARE_REGRESSES = 11  # compare: the new front regresses against the baseline's
INTERNAL = 70  # a bug of ours: the line names the log file with the details
# Stopped by a signal: 128 + its number, as a shell reports a process the signal ended.
BY_SIGNAL = {signal.SIGHUP: 129, signal.SIGINT: 130, signal.SIGTERM: 143}

MEANINGS = {
    OK: "the run finished with at least one feasible point (compare: the fronts match)",
    BAD_INPUT: "bad input, a missing tool or platform, an output folder in use or a damaged store; "
    "nothing was evaluated",
    ENVIRONMENT: "the machine failed mid-run (disk full, permission denied, a tool or platform file gone or "
    "damaged); the points in flight were not recorded: fix it and re-run",
    ALL_FAILED: "every evaluation failed on the design",
    NO_FEASIBLE: "no evaluated point meets the QoR constraints",
    ALL_TIMED_OUT: "every point ran past tool_timeout; none was recorded",
    COMPARE_DOMINATES: "compare: the new front dominates the baseline's",
    COMPARE_REGRESSES: "compare: the new front regresses against the baseline's",
    INTERNAL: "an internal error (a bug of ours): the line names the log file with the details",
    BY_SIGNAL[signal.SIGHUP]: "stopped by SIGHUP (finished evaluations are in the store; re-run to resume)",
    BY_SIGNAL[signal.SIGINT]: "interrupted by Ctrl-C (finished evaluations are in the store; re-run to resume)",
    BY_SIGNAL[signal.SIGTERM]: "stopped by SIGTERM (likewise)",
}
