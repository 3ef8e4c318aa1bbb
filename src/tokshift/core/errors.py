"""The one base class of every error a user can fix, and the tuple that stages and the CLI catch.

Every message names the file or field at fault and says what to do; stages and the `tokshift`
command print it as one line and exit non-zero, and keep the traceback for real bugs only.
Leaves out: the specific classes, which live with the code that raises them (ParamsError in
params.py, ModelLoadError in model/base.py, ...), all subclasses of TokshiftError.
"""

from __future__ import annotations


class TokshiftError(Exception):
    """Bad input (params, files, models, queries): the message names the file or field and what to do."""


class InputError(TokshiftError, ValueError):
    """A value passed to a function or command is unusable (an empty prompt, a missing option, ...)."""


class CorruptFileError(TokshiftError, ValueError):
    """A file is there but cannot be read (truncated, another format); the message names it and the remedy."""


class MissingFileError(TokshiftError, FileNotFoundError):
    """A file or folder tokshift needs is not there; the message names it and the command that makes it."""


# OS-level FileNotFoundError (an unreadable path a user typed) names its file too.
USER_ERRORS: tuple[type[BaseException], ...] = (TokshiftError, FileNotFoundError)
