"""The ``swift`` command."""
from __future__ import annotations

import os
import sys
import traceback
import warnings

from swift.errors import SwiftError

USAGE = "usage: swift <command> [CONFIG.yaml ...] [overrides ...] [--flags ...]   (swift <command> --help)"


def _main_help() -> str:
    from swift.config import build_schema
    from swift.config.help import GRAMMAR, options_help
    from swift.plugins import get_registries

    registries = get_registries()
    lines = [USAGE, "", "commands:"]
    for cmd in sorted(registries.commands, key=lambda c: c.name):
        origin = "" if not cmd.plugin or cmd.plugin == "commands" else f"  [plugin: {cmd.plugin}]"
        lines.append(f"  {cmd.name:<12} {cmd.help}{origin}")
    lines += ["", GRAMMAR, "", "Every option, by section (each command reads the sections its --help lists):",
              options_help(build_schema())]
    return "\n".join(lines) + "\n"


def _quiet_library_warnings() -> None:
    # Deprecation notices from the libraries below swift are not actionable for a swift user.
    for module in ("transformers", "peft", "torch", "accelerate", "datasets"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_library_warnings()
    name = argv[0] if argv else None
    try:
        if name in (None, "-h", "--help", "help"):
            print(_main_help())
            return 0 if name else 2
        if name in ("-V", "--version"):
            from swift.version import __version__

            print(f"swift {__version__}")
            return 0
        from swift.plugins import get_registries, hook

        get_registries().commands.get(name)  # unknown command: error with suggestions
        status = hook().swift_run_command(name=name, argv=argv[1:])
        return int(status or 0)
    except SwiftError as exc:
        prefix = f"swift {name}" if name else "swift"
        print(f"{prefix}: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        if os.environ.get("SWIFT_DEBUG"):
            traceback.print_exc()
        return 2
    except KeyboardInterrupt:
        print("\nswift: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
