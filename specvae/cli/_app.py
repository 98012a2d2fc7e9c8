"""The typer application objects and the decorator every command is registered with.

Each command module (``specvae/cli/<command>.py``) imports only typer and the standard library at module level; the
library code it forwards to (and with it torch, RDKit, matchms) is imported inside the command body, so that
``specvae --help`` stays instant.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Callable

import typer
from typer.core import TyperGroup

from specvae.errors import SpecvaeError

try:  # typer >= 0.2x carries its own copy of click; older versions use click itself
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - depends on the typer version
    from click import exceptions as click_exceptions

# Help panels: the pipeline's commands together, the rest after them.
START, PIPELINE, MORE = "Start here", "Pipeline: ingest -> fingerprint -> train -> rank / evaluate", "More"
PANELS = {"demo": START, "ingest": PIPELINE, "fingerprint": PIPELINE, "train": PIPELINE, "rank": PIPELINE,
          "evaluate": PIPELINE, "db": PIPELINE, "export": PIPELINE, "bench": MORE, "data": MORE, "cache": MORE,
          "fingerprint-mask": MORE, "version": MORE}
# Help is plain text (click's layout): option names are never cut, flags show no value, and the width follows the
# terminal up to HELP_WIDTH columns.
HELP_WIDTH = 120
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": HELP_WIDTH}


class OneLineUsageError(click_exceptions.ClickException):
    """A usage error (unknown option, bad value) shown as ``specvae: error: ...``, exit status 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        typer.echo(f"specvae: error: {self.format_message()}", err=True, file=file)


def _one_line(error):
    if type(error).__name__ == "NoArgsIsHelpError":  # a command given without arguments: its help, as asked
        return error
    ctx = error.ctx
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return OneLineUsageError(" ".join(error.format_message().split()) + hint)


class Group(TyperGroup):
    """The root command: usage errors in one line, and its commands listed in panels."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click_exceptions.UsageError as error:
            raise _one_line(error) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click_exceptions.UsageError as error:  # raised while parsing a (sub)command's options
            raise _one_line(error) from None

    def format_commands(self, ctx, formatter) -> None:
        panels: dict[str, list] = {}
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                panels.setdefault(PANELS.get(name, MORE), []).append((name, cmd.get_short_help_str(limit=60)))
        for title in (START, PIPELINE, MORE):
            if panels.get(title):
                with formatter.section(title):
                    formatter.write_dl(panels[title])


def _typer(**kwargs) -> typer.Typer:
    return typer.Typer(no_args_is_help=True, rich_markup_mode=None, context_settings=CONTEXT, **kwargs)


app = typer.Typer(
    name="specvae",
    help="Annotate tandem mass spectra with molecular structures using product-of-experts multimodal VAEs.",
    cls=Group,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,  # locals can be large tensors
    context_settings=CONTEXT,
)
bench_app = _typer(help="Reproduce the paper's image benchmarks.")
evaluate_app = _typer(help="Score the model on benchmark challenges.")
db_app = _typer(help="Local structure databases for candidate retrieval.")
app.add_typer(bench_app, name="bench", rich_help_panel=PANELS["bench"])
app.add_typer(evaluate_app, name="evaluate", rich_help_panel=PANELS["evaluate"])
app.add_typer(db_app, name="db", rich_help_panel=PANELS["db"])

# Errors a user can fix: reported in one line, exit status 1. Anything else is a bug and keeps its traceback.
USER_ERRORS = (SpecvaeError, ValueError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
               PermissionError)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``specvae: error: message`` on stderr and return the ``typer.Exit`` to raise."""
    typer.echo(f"specvae: error: {message}", err=True)
    return typer.Exit(code)


# -q/-v are accepted after a command's name too (``specvae rank -q ...``): every command gets these two parameters
_VERBOSITY = [
    inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, annotation=int, default=typer.Option(
        0, "--verbose", "-v", count=True, show_default=False, help="More log output (-vv for debug).")),
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
        False, "--quiet", "-q", help="Only warnings and errors; no progress bars.")),
]


def command(group: typer.Typer = app, name: str | None = None, **kwargs) -> Callable:
    """Register a function as a command of ``group``, turning user errors into one-line messages; the command
    also takes ``-q``/``-v`` (as the root does)."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, verbose: int = 0, quiet: bool = False, **kw):
            if quiet or verbose:  # given after the command: the same as before it
                _root(verbose=verbose, quiet=quiet, version=False)
            _STATE["pending"] = []
            try:
                result = func(*args, **kw)
                _flush_announcements()
                return result
            except USER_ERRORS as exc:
                _STATE["pending"] = []
                message = str(exc) or type(exc).__name__
                if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)) and exc.filename:
                    message = f"{exc.strerror or message}: {exc.filename}"
                raise fail(message) from None
            except KeyboardInterrupt:
                raise fail("interrupted", code=130) from None

        signature = inspect.signature(func, eval_str=True)  # the annotations as objects: the wrapper lives here
        wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *_VERBOSITY])
        return group.command(name=name, **kwargs)(wrapper)

    return decorate


def announce(message: str, *args) -> None:
    """Log ``message`` at info level once the command's work starts (its first log line or progress bar, or its
    end), not when it fails on its input: a user error stays one line."""
    logger = logging.getLogger("specvae")
    if logger.isEnabledFor(logging.INFO):
        _STATE["pending"].append(logger.makeRecord(logger.name, logging.INFO, __file__, 0, message, args, None))


def _flush_announcements() -> None:
    pending, _STATE["pending"] = _STATE["pending"], []
    for record in pending:
        logging.getLogger("specvae").handle(record)


class _FlushFirst(logging.Filter):
    """Lets held-back announcements out before the first other log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _STATE["pending"]:
            _flush_announcements()
        return True


def setup_logging(verbosity: int) -> None:
    """Install a rich handler on the ``specvae`` logger (the library itself installs none)."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    logger = logging.getLogger("specvae")
    logger.setLevel(level)
    if not logger.handlers:
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(console=Console(stderr=True), show_path=False, show_time=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.addFilter(_FlushFirst())
        logger.addHandler(handler)
        from specvae import progress

        progress.BEFORE_BAR.append(_flush_announcements)
    logger.propagate = False


def _print_version(value: bool) -> None:
    if value:
        from specvae import __version__

        typer.echo(f"specvae {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, show_default=False,
                                help="More log output (-vv for debug)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors; no progress bars."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the specvae version and exit."),
) -> None:
    """Annotate tandem mass spectra with molecular structures using product-of-experts multimodal VAEs."""
    setup_logging(-1 if quiet else verbose)
    _STATE["progress"] = not quiet


_STATE = {"progress": True, "pending": []}


def show_progress() -> bool:
    """Whether commands should draw progress bars (off with ``--quiet``)."""
    return bool(_STATE["progress"]) and sys.stderr is not None
