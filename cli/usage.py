"""Help and usage errors of the `kaohe` command in the configured language, at any width.

Typer's own help draws boxed tables whose cells end in "…" when a Chinese description has no
space to break at, shows `<bool>` for every flag and speaks English; its usage errors are
English too. `install_help` and `KaoheGroup` (the root command's class) render both from
the catalogs instead: every command's help is a plain Rich grid whose description column
folds anywhere (Chinese breaks between any two characters), and each kind of usage error is
one catalog message.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from typer import Abort
from typer._click import Context, HelpFormatter
from typer._click.core import Command
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
)
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from cli.common import t

# The widest help we lay out: wider lines are hard to read even in a wide terminal.
MAX_HELP_WIDTH = 100
_NO_SUCH_COMMAND = re.compile(r"No such command '(?P<name>[^']*)'")
_EXTRA_ARGUMENTS = re.compile(r"unexpected extra arguments?(?:\(s\))? \((?P<args>.*)\)")


def _width() -> int:
    return max(40, min(shutil.get_terminal_size((80, 24)).columns, MAX_HELP_WIDTH))


def _commands(command: Command) -> dict[str, Command]:
    """The subcommands loaded so far (a lazy group loads one when it is resolved)."""
    return dict(getattr(command, "commands", {}) or {})


def _listed(command: Command, ctx: Context) -> list[tuple[str, Command]]:
    """A group's subcommands as its help lists them (a lazy group's without loading them)."""
    if not isinstance(command, TyperGroup):
        return []
    found = ((name, command.get_command(ctx, name)) for name in command.list_commands(ctx))
    return [(name, sub) for name, sub in found if sub is not None]


def _annotation(param: Any) -> Any:
    return getattr(getattr(param, "type_descriptor", None), "annotation", None)


def _type_name(param: Any) -> str:
    bare = _annotation(param)
    if bare is bool:
        return ""
    if bare is int:
        return t("cli.usage_type_int")
    if bare is float:
        return t("cli.usage_type_float")
    if isinstance(bare, type) and issubclass(bare, Path):
        return t("cli.usage_type_path")
    return t("cli.usage_type_text")


def _range(param: Any) -> tuple[Any, Any]:
    info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
    return getattr(info, "min", None), getattr(info, "max", None)


def _expected(param: Any) -> str:
    """What a parameter's value must be, as a phrase."""
    low, high = _range(param)
    kind = _type_name(param)
    if low is not None and high is not None:
        return t("cli.usage_expected_range", kind=kind, low=low, high=high)
    if low is not None:
        return t("cli.usage_expected_min", kind=kind, low=low)
    if high is not None:
        return t("cli.usage_expected_max", kind=kind, high=high)
    return t("cli.usage_expected", kind=kind)


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False)) or _annotation(param) is bool


def _argument_name(param: Any) -> str:
    return str(param.metavar or param.name or "").upper()


def _usage(command: Command, path: str) -> str:
    pieces = [path, t("cli.usage_options")]
    for param in command.params:
        if isinstance(param, TyperArgument):
            name = _argument_name(param)
            pieces.append(name if param.required else f"[{name}]")
    if isinstance(command, TyperGroup):
        pieces.append(t("cli.usage_command"))
    # A plain label, not a template: the top-level help renders no Jinja2 (it starts fast).
    label = t("cli.usage_line")
    return label + ("" if label.endswith("：") else " ") + " ".join(pieces)


def _command_for(root: Command, args: Sequence[str], prog_name: str) -> tuple[Command, str]:
    """The (sub)command the arguments name, and its path, e.g. `kaohe plan init`."""
    command, path = root, [prog_name]
    for arg in args:
        sub = _commands(command).get(arg)
        if sub is None:
            break
        command = sub
        path.append(arg)
    return command, " ".join(path)


def _option_spec(param: Any) -> Text:
    names = ", ".join(sorted(param.opts, key=len))
    text = Text(names, style="bold cyan")
    if not _is_flag(param):
        text.append(f" {_type_name(param)}", style="yellow")
    return text


def _option_help(param: Any) -> Text:
    parts: list[str] = []
    if param.required:
        parts.append(t("cli.usage_required"))
    if param.help:
        parts.append(str(param.help))
    low, high = _range(param)
    if low is not None or high is not None:
        parts.append(t("cli.usage_range", low=low, high=high))
    default = param.default
    if not param.required and not _is_flag(param) and default not in (None, "", ()):
        parts.append(t("cli.usage_default", default=str(default)))
    return Text(" ".join(parts))


def _grid(width: int) -> Table:
    grid = Table.grid(padding=(0, 2), expand=False)
    grid.add_column(no_wrap=True, max_width=max(12, width // 3))
    grid.add_column(overflow="fold", ratio=1)
    return grid


def render_help(command: Command, ctx: Context) -> str:
    """The help of `command` as plain text laid out for the terminal's width."""
    width = _width()
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False, color_system=None)
    console.print(Text(_usage(command, ctx.command_path)))
    if command.help:
        console.print()
        console.print(Padding(Text(command.help.strip()), (0, 0, 0, 2)), overflow="fold")
    arguments = [p for p in command.params if isinstance(p, TyperArgument)]
    if arguments:
        console.print()
        console.print(t("cli.usage_arguments_title"))
        grid = _grid(width)
        for argument in arguments:
            grid.add_row(
                Text("  " + _argument_name(argument), style="bold cyan"), _option_help(argument)
            )
        console.print(grid)
    console.print()
    console.print(t("cli.usage_options_title"))
    grid = _grid(width)
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            continue
        spec = Text("  ") + _option_spec(param)
        if param.name == "help":
            grid.add_row(spec, Text(t("cli.usage_help_option")))
        else:
            grid.add_row(spec, _option_help(param))
    console.print(grid)
    subcommands = _listed(command, ctx)
    if subcommands:
        console.print()
        console.print(t("cli.usage_commands_title"))
        grid = _grid(width)
        for name, sub in subcommands:
            grid.add_row(Text("  " + name, style="bold cyan"), Text((sub.help or "").strip()))
        console.print(grid)
    # The grid pads every line to the full width: trailing spaces would wrap on a resize.
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def _format_help(self: Command, ctx: Context, formatter: HelpFormatter) -> None:
    formatter.write(render_help(self, ctx) + "\n")


def install_help() -> None:
    """Have every Typer command and group of this process render its help with `render_help`
    (Typer makes each command of the `kaohe` tree itself; this is where they all meet)."""
    TyperCommand.format_help = _format_help  # type: ignore[method-assign]
    TyperGroup.format_help = _format_help  # type: ignore[method-assign]


def _long_name(param: Any) -> str:
    """An option's long name (`--output` rather than `-o`)."""
    return str(max(param.opts, key=len))


def _given_value(args: Sequence[str], names: Sequence[str]) -> str | None:
    """What followed option `names` in the arguments (the last time it was given)."""
    found: str | None = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                found = args[i + 1]
            elif arg.startswith(f"{name}="):
                found = arg[len(name) + 1 :]
    return found


def usage_error_text(error: ClickException, args: Sequence[str]) -> str:
    """A usage error as a catalog message (the English detail only when it is unknown)."""
    if isinstance(error, MissingParameter) and error.param is not None:
        param = error.param
        hint = _long_name(param) if isinstance(param, TyperOption) else _argument_name(param)
        return t("cli.usage_missing", name=hint, expected=_expected(param))
    if isinstance(error, BadParameter) and error.param is not None:
        param = error.param
        if isinstance(param, TyperOption):
            value = _given_value(args, param.opts)
            return t(
                "cli.usage_bad_option",
                name=_long_name(param),
                value=value,
                expected=_expected(param),
            )
        return t("cli.usage_bad_argument", name=_argument_name(param), expected=_expected(param))
    if isinstance(error, NoSuchOption):
        return t(
            "cli.usage_no_such_option",
            name=error.option_name,
            possibilities=sorted(error.possibilities or ()),
        )
    if isinstance(error, BadOptionUsage):
        if "requires an argument" in error.message:
            return t("cli.usage_needs_value", name=error.option_name)
        if "does not take a value" in error.message:
            return t("cli.usage_takes_no_value", name=error.option_name)
    match = _NO_SUCH_COMMAND.search(error.message)
    if match is not None:
        ctx = getattr(error, "ctx", None)
        group = ctx.command if ctx is not None else None
        names = (
            group.list_commands(ctx) if ctx is not None and isinstance(group, TyperGroup) else []
        )
        return t("cli.usage_no_such_command", name=match["name"], commands=names)
    match = _EXTRA_ARGUMENTS.search(error.message)
    if match is not None:
        return t("cli.usage_extra_arguments", args=match["args"])
    return t("cli.usage_other", detail=error.format_message())


def _show_usage_error(
    error: ClickException, command: Command, path: str, args: Sequence[str]
) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if isinstance(error, NoArgsIsHelpError):
        # A command typed alone shows its help, on stdout like --help.
        Console(highlight=False, soft_wrap=True).print(Text(error.format_message()))
        return
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        command, path = ctx.command, ctx.command_path
    err.print(Text(_usage(command, path)))
    err.print(Text(t("cli.usage_error", message=usage_error_text(error, args))))
    err.print(Text(t("cli.usage_see_help", command=path)))


class KaoheGroup(TyperGroup):
    """The root `kaohe` command: help and usage errors from the catalogs (see the module)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; in standalone mode a usage error is a message and status 2."""
        given = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(
                given, prog_name, complete_var, False, windows_expand_args, **extra
            )
        try:
            result = super().main(
                given, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except ClickException as error:
            command, path = _command_for(self, given, prog_name or "kaohe")
            _show_usage_error(error, command, path, given)
            sys.exit(error.exit_code)
        except Abort:
            Console(stderr=True).print(Text(t("cli.usage_aborted")))
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)
