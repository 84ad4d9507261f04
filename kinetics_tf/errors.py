"""The one exception type for a user's mistake (a bad input file, an unknown
name, a missing flag): binaries print its message as one line and exit 2
(kinetics_tf/app.py).  Each reader's own error subclasses it.

It is the flow tool's ``flow.app.UserError`` (``flow/`` stands alone, so the
type is defined there), so a mistake raised in ``flow/`` reads the same in
every binary.
"""

from flow.app import UserError  # noqa: F401
