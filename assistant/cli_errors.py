"""How the `assistant` command reports a failure: one place, so every command says it the same way.

A command that cannot do its job raises ``CommandFailed`` (or lets the service's own ``AssistantError``
through: the command group turns it into one); click prints ``error: ...`` on stderr and exits with the
command's documented code, 1 by default and 2 for the evaluation commands, whose 1 means "thresholds missed".
"""

from __future__ import annotations

from typing import IO, Any

import click

from assistant.errors import AssistantError


class CommandFailed(click.ClickException):
    """One or more problems, each printed as an ``error:`` line, then exit with ``exit_code``."""

    def __init__(self, *problems: str, exit_code: int = 1) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        for problem in self.problems:
            click.echo(f"error: {problem}", err=True)


class ReportingGroup(click.Group):
    """A command group whose commands' ``AssistantError`` is reported as a ``CommandFailed``."""

    failure_exit_code = 1

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssistantError as exc:
            raise CommandFailed(exc.message, exit_code=self.failure_exit_code) from None
