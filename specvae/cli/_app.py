"""The typer application objects and the decorator every command is registered with.

Each command module (``specvae/cli/<command>.py``) imports only typer and the standard library at module level; the
library code it forwards to (and with it torch, RDKit, matchms) is imported inside the command body, so that
``specvae --help`` stays instant.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable

import typer

from specvae.errors import SpecvaeError

app = typer.Typer(
    name="specvae",
    help="Annotate tandem mass spectra with molecular structures using product-of-experts multimodal VAEs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals can be large tensors
    context_settings={"help_option_names": ["-h", "--help"]},
)
bench_app = typer.Typer(help="Reproduce the paper's image benchmarks.", no_args_is_help=True)
evaluate_app = typer.Typer(help="Score the model on benchmark challenges.", no_args_is_help=True)
db_app = typer.Typer(help="Local structure databases for candidate retrieval.", no_args_is_help=True)
# Help panels: the pipeline's commands together, the rest after them.
START, PIPELINE, MORE = "Start here", "Pipeline: ingest -> fingerprint -> train -> rank / evaluate", "More"
PANELS = {"demo": START, "ingest": PIPELINE, "fingerprint": PIPELINE, "train": PIPELINE, "rank": PIPELINE,
          "evaluate": PIPELINE, "db": PIPELINE, "bench": MORE, "data": MORE, "fingerprint-mask": MORE, "version": MORE}
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


def command(group: typer.Typer = app, name: str | None = None, **kwargs) -> Callable:
    """Register a function as a command of ``group``, turning user errors into one-line messages."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kw):
            try:
                return func(*args, **kw)
            except USER_ERRORS as exc:
                message = str(exc) or type(exc).__name__
                if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)) and exc.filename:
                    message = f"{exc.strerror or message}: {exc.filename}"
                raise fail(message) from None
            except KeyboardInterrupt:
                raise fail("interrupted", code=130) from None

        if group is app:
            kwargs.setdefault("rich_help_panel", PANELS.get(name or func.__name__.replace("_", "-")))
        return group.command(name=name, **kwargs)(wrapper)

    return decorate


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
        logger.addHandler(handler)
    logger.propagate = False


@app.callback()
def _root(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output (-vv for debug)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors; no progress bars."),
) -> None:
    """Annotate tandem mass spectra with molecular structures using product-of-experts multimodal VAEs."""
    setup_logging(-1 if quiet else verbose)
    _STATE["progress"] = not quiet


_STATE = {"progress": True}


def show_progress() -> bool:
    """Whether commands should draw progress bars (off with ``--quiet``)."""
    return bool(_STATE["progress"]) and sys.stderr is not None
