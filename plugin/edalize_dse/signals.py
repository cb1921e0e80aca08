"""One path for every stop signal (Ctrl-C, SIGTERM, SIGHUP).

The first signal wins: it kills every running tool's process group, then unwinds the
run as a ``Stopped`` exception; signals that follow it (a terminal's Ctrl-C reaches
FuseSoC and the run together, and FuseSoC forwards its own) are ignored, so the
clean-up is never interrupted halfway and the exit status is the first signal's.
Installed before anything heavy is imported, so even an early Ctrl-C ends in one line."""

from __future__ import annotations

import signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stop signal, handled as Ctrl-C is (every tool stopped, then one line)."""

    def __init__(self, signum: int):
        self.signum = signal.Signals(signum)
        super().__init__(self.signum.name)

    @property
    def signame(self) -> str:
        return self.signum.name


_first: list[int] = []


def _handler(signum, frame):
    # A later signal returns at once: the first one's stop is under way. (The handler stays
    # installed: switching to SIG_IGN here makes Python report a signal already pending as
    # "ignored due to race condition", with a traceback.)
    if _first:
        return
    _first.append(signum)
    from edalize_dse.runner import stop_all_tools

    stop_all_tools()
    raise Stopped(signum)


def install() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _handler)


def received() -> bool:
    return bool(_first)


def exit_now(code: int):
    """Leave at once after a stop: finishing the interpreter would put the default
    handlers back, and a second signal arriving then would end the process by that
    signal instead of the first one's exit status."""
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def first_signal(exc: KeyboardInterrupt) -> signal.Signals:
    """The signal that stopped the run: the first one received, else Ctrl-C."""
    if _first:
        return signal.Signals(_first[0])
    return exc.signum if isinstance(exc, Stopped) else signal.SIGINT
