"""The one exception type for a user's mistake (a bad input file, an unknown
name, a missing flag): binaries print its message as one line and exit 2
(kinetics_tf/app.py).  Each reader's own error subclasses it."""


class UserError(ValueError):
  """A mistake in the command or its inputs: one line naming it and what to
  do, exit 2."""
