"""How the flow binaries run: absl flags, --help/--helpfull, one-line errors.

``flow/`` stands alone (it imports nothing from ``kinetics_tf``), so its
binaries (``flow.extract``, ``flow.beam``) have this small wrapper of their
own, with the behaviour of ``kinetics_tf/app.py``: a user's mistake
(``UserError``, a bad or missing flag, a missing file) is printed as one
line, ``PROG: error: ...``, with exit code 2, the traceback only with
``--verbose``; anything else is a bug and keeps its traceback.  ``--help``
and ``--helpfull`` print the usage and the flags and exit 0.

Each call parses into a fresh ``flags.FlagValues``, so that a binary's
``main(argv)`` can run many times in one process (tests) and two binaries
can define the same flags.
"""

import sys
from typing import Callable, Optional, Sequence

from absl import flags

_HELP = ('-h', '--help', '--helpshort', '--helpfull', '-?')


class UserError(ValueError):
  """A mistake in the command or its inputs: one line naming it and what to
  do, exit 2."""


def user_message(error: BaseException) -> Optional[str]:
  """The one line for a user's mistake, or None if ``error`` is a bug."""
  if isinstance(error, (UserError, flags.Error)):
    return str(error)
  if isinstance(error, (FileNotFoundError, NotADirectoryError,
                        IsADirectoryError, PermissionError)):
    if error.strerror and error.filename:
      return f'{error.strerror}: {error.filename}'
    return str(error)
  return None


def _help(doc: str, flag_values: flags.FlagValues, full: bool) -> str:
  return (f'{doc.strip()}\n\nFlags:\n'
          f'{flag_values.get_help(include_special_flags=full)}')


def run(main: Callable[[flags.FlagValues, list], int],
        define: Callable[[flags.FlagValues], None], prog: str, doc: str,
        argv: Optional[Sequence[str]] = None, known_only: bool = False) -> int:
  """Parses `argv` into the flags `define` adds, then returns main(flags, rest).

  Args:
    main: the binary; called with the parsed FlagValues and the arguments
      that are not flags (positional ones, and with `known_only` the flags
      this binary does not define, e.g. Beam's), returns the exit code.
    define: adds the binary's flags to the FlagValues it is given.
    prog: the name that starts an error line, e.g. 'flow.extract'.
    doc: the usage text of --help (the binary's module docstring).
    argv: the command line without the program name (default sys.argv[1:]).
    known_only: leave unknown flags in `rest` instead of failing on them.

  Returns:
    main's exit code; 0 after --help, 2 after a user's mistake.
  """
  argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
  flag_values = flags.FlagValues()
  define(flag_values)
  flags.DEFINE_bool('verbose', False,
                    'On a mistake in the command, print the traceback too.',
                    flag_values=flag_values)
  asked = [a.split('=')[0] for a in argv if a.split('=')[0] in _HELP]
  if asked:
    print(_help(doc, flag_values, full='--helpfull' in asked))
    return 0
  try:
    rest = flag_values([prog] + argv, known_only=known_only)[1:]
    return main(flag_values, rest)
  except Exception as e:  # pylint: disable=broad-except
    message = user_message(e)
    verbose = (flag_values['verbose'].value if flag_values.is_parsed() else
               '--verbose' in argv)
    if message is None or verbose:
      raise
    print(f'{prog}: error: {message.splitlines()[0] if message else message}',
          file=sys.stderr)
    return 2
