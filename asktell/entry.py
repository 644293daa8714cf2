"""The ``asktell`` command's entry point: run the command, turn every error into one line.

Errors are mapped to exit codes here and nowhere else: an ``AsktellError``
prints ``asktell: error: ...`` and exits with its code; anything unexpected
exits 1 with one line too, and with the traceback under ``--debug`` (or
``ASKTELL_DEBUG=1``).  An answer that is not an error -- ``report``'s exit 3,
"prune this trial" -- is the code the command returns.  The plain forms of
the pipeline steps' commands run without importing typer (see
``asktell.quick``); everything else goes through the typer app in
``asktell.cli``.
"""

from __future__ import annotations

import os
import sys

from .errors import EXIT_FAILURE, AsktellError


def main() -> None:
    from .threads import pin_blas_threads

    pin_blas_threads()
    argv = sys.argv[1:]
    debug = argv[:1] == ["--debug"] or bool(os.environ.get("ASKTELL_DEBUG"))
    try:
        from .quick import parse

        quick = parse(argv)
        if quick is None:
            from .cli import run

            code = run(argv)
        else:
            command, kwargs = quick
            code = command(**kwargs) or 0
    except AsktellError as exc:
        if debug:
            raise
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - one line for the user, traceback with --debug
        if debug:
            raise
        _fail(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)", EXIT_FAILURE)
    sys.exit(code)


def _fail(message: str, code: int) -> None:
    print(f"asktell: error: {message}", file=sys.stderr)
    sys.exit(code)
