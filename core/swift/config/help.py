"""``--help`` text: every option with its type, default, flags and one-line doc, by section and plugin."""
from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

from swift.config.compose import ConfigSchema, FieldInfo

GRAMMAR = """\
Options are config keys. Set them in any of these ways (later wins):
  cfg.yaml                   a config file: nested sections, dotted keys or ms-swift's flat keys
  --learning_rate 1e-4       an ms-swift style flag (shown after each key below)
  train.learning_rate=1e-4   a hydra-style override; --train.learning_rate 1e-4 works too
  +key=v  add a key your files don't set    ++key=v  set or add    ~key  remove a key you set
  --print-config             print the resolved config and exit"""


def _default(info: FieldInfo) -> str:
    d = info.default
    if isinstance(d, str):
        return repr(d)
    return str(d)


def format_field(info: FieldInfo, width: int) -> str:
    flags = ", ".join(f"--{f}" for f in info.flags)
    head = f"  {info.path}" + (f"  ({flags})" if flags else "")
    kind = info.type_name + (f" in {{{', '.join(map(str, info.choices))}}}" if info.choices else "")
    doc = f"{kind} = {_default(info)}. {info.help}".rstrip()
    body = textwrap.fill(doc, width=width, initial_indent="      ", subsequent_indent="      ")
    return f"{head}\n{body}"


def options_help(schema: ConfigSchema, sections: Sequence[str] | None = None) -> str:
    width = max(60, min(110, shutil.get_terminal_size((100, 20)).columns))
    lines = []
    tops = [p for p in schema.sections if "." not in p]
    ordered = sorted(schema.sections.items(), key=lambda kv: (tops.index(kv[0].split(".")[0]), kv[0]))
    for path, section in ordered:
        top = path.split(".")[0]
        if sections is not None and top not in sections:
            continue
        if not section.fields:
            continue
        origin = f"  [plugin: {section.plugin}]" if section.plugin else ""
        lines.append(f"\n{path}: {section.help}{origin}")
        for info in section.fields:
            lines.append(format_field(info, width))
    return "\n".join(lines)


def command_help(schema: ConfigSchema, command: str, summary: str, sections: Sequence[str] | None,
                 usage: str | None = None) -> str:
    usage = usage or f"swift {command} [CONFIG.yaml ...] [KEY=VALUE | +KEY=VALUE | ++KEY=VALUE | ~KEY | --FLAG VALUE ...]"
    return f"usage: {usage}\n\n{summary}\n\n{GRAMMAR}\n{options_help(schema, sections)}\n"
