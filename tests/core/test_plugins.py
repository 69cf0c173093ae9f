"""Plugin discovery, the allow-list, registration through hooks, and errors for what is not installed."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

import swift.plugins
from swift import hookimpl
from swift.cli.main import main
from swift.config import build_schema
from swift.config.schema import opt
from swift.errors import PluginNotFoundError, SwiftError
from swift.plugins import get_registries
from swift.registry import Backend, ConfigSection, ModelFamily


def test_default_plugins_register_through_the_hooks():
    regs = get_registries()
    assert {"text"} <= set(regs.models.names())
    assert {"chatml", "qwen", "llama3"} <= set(regs.templates.names())
    assert {"lora", "full", "freeze"} <= set(regs.tuners.names())
    assert {"pt"} <= set(regs.backends.names())
    assert {"sft", "pt"} <= set(regs.trainers.names())
    assert {"messages", "sharegpt", "alpaca", "query_response", "text"} <= set(regs.dataset_formats.names())
    assert regs.tuners.get("lora").plugin == "peft"
    assert regs.tuners.get("full").plugin == "tuners"  # a built-in, through the same hook


def test_missing_backend_names_the_package_and_what_is_available():
    with pytest.raises(PluginNotFoundError) as err:
        get_registries().backends.get("vllm")
    text = str(err.value)
    assert "no installed plugin provides backend 'vllm' (--infer_backend vllm)" in text
    assert "pip install swift-plugin-vllm" in text and "available: pt, transformers" in text


def test_missing_tuner_and_family_suggestions():
    with pytest.raises(PluginNotFoundError, match="did you mean 'lora'"):
        get_registries().tuners.get("lorra")
    with pytest.raises(PluginNotFoundError, match="pip install swift-plugin-qwen-vl"):
        get_registries().models.get("qwen2_vl")


def test_cli_reports_missing_backend(tmp_path, capsys):
    assert main(["infer", "--model", str(tmp_path), "--infer_backend", "vllm"]) == 2
    err = capsys.readouterr().err
    assert "no installed plugin provides backend 'vllm'" in err and "pip install swift-plugin-vllm" in err
    assert "available: pt" in err and "Traceback" not in err


def test_allow_list_empty_loads_only_builtins(monkeypatch):
    monkeypatch.setenv("SWIFT_PLUGINS", "")
    swift.plugins.reset()
    regs = get_registries()
    assert "lora" not in regs.tuners and "pt" not in regs.backends and "text" not in regs.models
    assert "full" in regs.tuners and "sft" in regs.trainers
    with pytest.raises(PluginNotFoundError, match="pip install swift-plugin-peft"):
        regs.tuners.get("lora")


def test_allow_list_subset(monkeypatch):
    monkeypatch.setenv("SWIFT_PLUGINS", "peft")
    swift.plugins.reset()
    regs = get_registries()
    assert "lora" in regs.tuners and "pt" not in regs.backends


def test_allow_list_names_an_unknown_plugin(monkeypatch):
    monkeypatch.setenv("SWIFT_PLUGINS", "text,nosuch")
    swift.plugins.reset()
    with pytest.raises(SwiftError, match="SWIFT_PLUGINS names 'nosuch'"):
        get_registries()


@dataclass
class EchoArgs:
    greeting: str = opt("hi", "what the echo backend says", flags=("echo_greeting",))


class EchoPlugin:
    """A throwaway plugin object registered at run time."""

    @hookimpl
    def swift_register_backends(self, register):
        register(Backend("echo", lambda cfg: None, frozenset({"stream"}), help="echo"))

    @hookimpl
    def swift_register_config(self, register):
        register(ConfigSection("infer.echo", EchoArgs, help="echo backend"))


def test_runtime_plugin_registers_items_and_config_section():
    swift.plugins.register(EchoPlugin(), "echo")
    regs = get_registries()
    assert regs.backends.get("echo").plugin == "echo"
    schema = build_schema()
    assert schema.flags["echo_greeting"] == "infer.echo.greeting"
    swift.plugins.unregister("echo")
    assert "echo" not in get_registries().backends


def test_two_plugins_claiming_one_name_is_an_error():
    class Twin:
        @hookimpl
        def swift_register_backends(self, register):
            register(Backend("pt", lambda cfg: None))

    swift.plugins.register(Twin(), "twin")
    with pytest.raises(SwiftError, match="backend 'pt' is registered by two plugins: 'pt' and 'twin'"):
        get_registries()


def test_wrong_item_type_is_reported():
    class Wrong:
        @hookimpl
        def swift_register_models(self, register):
            register(Backend("x", lambda cfg: None))

    swift.plugins.register(Wrong(), "wrong")
    with pytest.raises(SwiftError, match="passed a Backend to swift_register_models; expected a ModelFamily"):
        get_registries()


def test_family_priority_decides_between_claims(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}))
    from swift.model import resolve_family

    assert resolve_family(str(tmp_path), None, get_registries()).name == "text"

    class Special:
        @hookimpl
        def swift_register_models(self, register):
            register(ModelFamily("special", lambda *a: None, model_types=("qwen2",), priority=5))

    swift.plugins.register(Special(), "special")
    assert resolve_family(str(tmp_path), None, get_registries()).name == "special"
    assert resolve_family(str(tmp_path), "text", get_registries()).name == "text"


def test_lifecycle_wrapper_hook_wraps_commands(capsys):
    seen = []

    class Timer:
        @hookimpl(wrapper=True)
        def swift_run_command(self, name, argv):
            seen.append(("before", name))
            status = yield
            seen.append(("after", status))
            return status

    swift.plugins.register(Timer(), "timer")
    assert main(["plugins"]) == 0
    assert seen == [("before", "plugins"), ("after", 0)]


def test_plugins_command_table_and_json(capsys):
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert "peft" in table and "swift-plugin-peft" in table and "tuners: lora" in table
    assert main(["plugins", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["peft"]["version"] == "0.1.0" and rows["peft"]["distribution"] == "swift-plugin-peft"
    assert "swift_register_tuners" in rows["peft"]["hooks"]
    assert rows["peft"]["registers"]["tuners"] == ["lora"] and rows["peft"]["registers"]["config"] == ["tuner.lora"]
    assert rows["text"]["registers"]["templates"] == ["chatml", "qwen", "llama3"]
    assert rows["commands"]["builtin"] is True


def test_hookspecs_are_documented():
    import inspect

    from swift import hookspecs

    specs = [f for n, f in vars(hookspecs).items() if n.startswith("swift_") and inspect.isfunction(f)]
    assert len(specs) >= 15
    for spec in specs:
        doc = inspect.getdoc(spec) or ""
        assert len(doc) > 40, spec.__name__
        for param in inspect.signature(spec).parameters:
            assert f":param {param}:" in doc, (spec.__name__, param)


def test_misspelt_hook_is_reported():
    class Typo:
        @hookimpl
        def swift_register_modelz(self, register):
            pass

    with pytest.raises(SwiftError, match="implements a hook swift does not define"):
        swift.plugins.register(Typo(), "typo")


def test_hook_with_wrong_arguments_is_reported():
    class Wrong:
        @hookimpl
        def swift_register_models(self, register, extra):
            pass

    with pytest.raises(SwiftError, match="does not match swift's hook specs"):
        swift.plugins.register(Wrong(), "wrong-args")
