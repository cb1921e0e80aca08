from edalize_dse import signals

# Before the imports below (seconds with torch): a Ctrl-C meanwhile still ends in one line.
signals.install()
try:
    from edalize_dse.cli import main, stopped_line
except KeyboardInterrupt as exc:
    from edalize_dse.cli import stopped_line

    signals.exit_now(stopped_line(exc))

code = main()
if signals.received():
    signals.exit_now(code)
raise SystemExit(code)
