"""Config grammar: files, hydra-style overrides, ms-swift flags, validation and help."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from swift.cli.main import main
from swift.config import build_schema, compose, parse_argv
from swift.errors import ConfigError


def cfg_of(*argv: str):
    schema = build_schema()
    parsed = parse_argv(list(argv), schema)
    return compose(schema, parsed.files, parsed.overrides)


def test_defaults_follow_ms_swift():
    cfg = cfg_of()
    assert cfg.tuner.type == "lora"
    assert cfg.tuner.lora.r == 8 and cfg.tuner.lora.alpha == 32 and cfg.tuner.lora.dropout == 0.05
    assert list(cfg.tuner.lora.target_modules) == ["all-linear"]
    assert cfg.train.num_train_epochs == 3 and cfg.train.lr_scheduler_type == "cosine"
    assert cfg.model.trust_remote_code is False


def test_ms_swift_flags_map_to_keys():
    cfg = cfg_of("--model", "/m", "--dataset", "a.jsonl", "b.jsonl#10", "--val_dataset", "v.jsonl",
                 "--split_dataset_ratio", "0.1", "--train_type", "full", "--output_dir", "out",
                 "--num_train_epochs", "2", "--max_steps", "7", "--per_device_train_batch_size", "4",
                 "--gradient_accumulation_steps", "2", "--learning_rate", "1e-4", "--lr_scheduler_type", "linear",
                 "--warmup_ratio", "0.05", "--weight_decay", "0.0", "--max_length", "128", "--lora_rank", "16",
                 "--lora_alpha", "64", "--lora_dropout", "0.1", "--target_modules", "q_proj", "v_proj",
                 "--seed", "3", "--logging_steps", "1", "--save_steps", "10", "--eval_steps", "5",
                 "--save_total_limit", "2", "--resume_from_checkpoint", "last", "--torch_dtype", "float32",
                 "--adapters", "ad", "--infer_backend", "pt", "--max_new_tokens", "9", "--temperature", "0.7",
                 "--top_p", "0.9", "--result_path", "r.jsonl", "--stream", "false", "--model_type", "text",
                 "--template", "chatml")
    assert cfg.model.id == "/m" and cfg.model.model_type == "text" and cfg.model.torch_dtype == "float32"
    assert list(cfg.data.dataset) == ["a.jsonl", "b.jsonl#10"] and list(cfg.data.val_dataset) == ["v.jsonl"]
    assert cfg.data.split_dataset_ratio == 0.1
    assert cfg.tuner.type == "full"
    t = cfg.train
    assert (t.output_dir, t.num_train_epochs, t.max_steps, t.per_device_train_batch_size) == ("out", 2, 7, 4)
    assert (t.gradient_accumulation_steps, t.learning_rate, t.lr_scheduler_type) == (2, 1e-4, "linear")
    assert (t.warmup_ratio, t.weight_decay, t.seed, t.logging_steps) == (0.05, 0.0, 3, 1)
    assert (t.save_steps, t.eval_steps, t.save_total_limit, t.resume_from_checkpoint) == (10, 5, 2, "last")
    assert cfg.template.max_length == 128 and cfg.template.name == "chatml"
    lora = cfg.tuner.lora
    assert (lora.r, lora.alpha, lora.dropout, list(lora.target_modules)) == (16, 64, 0.1, ["q_proj", "v_proj"])
    i = cfg.infer
    assert list(i.adapters) == ["ad"] and i.backend == "pt" and i.max_new_tokens == 9
    assert (i.temperature, i.top_p, i.result_path, i.stream) == (0.7, 0.9, "r.jsonl", False)


def test_tuner_type_and_its_old_alias():
    assert cfg_of("--tuner_type", "full").tuner.type == "full"
    assert cfg_of("--train_type", "freeze").tuner.type == "freeze"


def test_flag_forms():
    cfg = cfg_of("--learning_rate=3e-4", "--train.seed", "5", "--packing", "--dataset", "x.jsonl")
    assert cfg.train.learning_rate == 3e-4 and cfg.train.seed == 5 and cfg.data.packing is True
    # A bool flag standing alone before another flag; JSON for dict flags.
    cfg = cfg_of("--packing", "--model_kwargs", '{"attn_implementation": "eager"}')
    assert cfg.data.packing is True and cfg.model.model_kwargs == {"attn_implementation": "eager"}


def test_yaml_file_nested_dotted_and_flat_keys(tmp_path):
    f = tmp_path / "cfg.yaml"
    f.write_text("train:\n  learning_rate: 2e-4\n  seed: 7\n"
                 "tuner.lora.r: 4\n"
                 "model: some/model\n"      # ms-swift flat key whose name is also a section
                 "lora_alpha: 8\n"          # ms-swift flat key
                 "dataset: one.jsonl\n")     # a scalar for a list key
    cfg = cfg_of(str(f))
    assert cfg.train.learning_rate == 2e-4 and cfg.train.seed == 7
    assert cfg.tuner.lora.r == 4 and cfg.tuner.lora.alpha == 8
    assert cfg.model.id == "some/model" and list(cfg.data.dataset) == ["one.jsonl"]


def test_hydra_grammar(tmp_path):
    f = tmp_path / "cfg.yaml"
    f.write_text("train:\n  learning_rate: 2e-4\n  seed: 7\n")
    # the example, with real keys: set, add (+), upsert (++), remove (~)
    cfg = cfg_of(str(f), "train.learning_rate=1e-3", "+tuner.lora.dropout=0.2", "++train.max_steps=9", "~train.seed")
    assert cfg.train.learning_rate == 1e-3
    assert cfg.tuner.lora.dropout == 0.2
    assert cfg.train.max_steps == 9
    assert cfg.train.seed == 42  # removed from the user's config: back to the default
    # later wins
    assert cfg_of("train.seed=1", "--seed", "2").train.seed == 2


def test_add_refuses_a_key_already_set(tmp_path):
    f = tmp_path / "cfg.yaml"
    f.write_text("train:\n  seed: 7\n")
    with pytest.raises(ConfigError, match=r"cannot add 'train.seed'.*already set by .*cfg.yaml"):
        cfg_of(str(f), "+train.seed=1")


def test_remove_with_value_must_match(tmp_path):
    with pytest.raises(ConfigError, match="its value is 3"):
        cfg_of("train.seed=3", "~train.seed=4")
    assert cfg_of("train.seed=3", "~train.seed=3").train.seed == 42
    with pytest.raises(ConfigError, match="does not set it"):
        cfg_of("~train.seed")


def test_open_dict_needs_plus_to_add():
    with pytest.raises(ConfigError, match=r"use \+model.model_kwargs.foo=VALUE"):
        cfg_of("model.model_kwargs.foo=1")
    cfg = cfg_of("+model.model_kwargs.foo=1", "++model.model_kwargs.bar=x")
    assert cfg.model.model_kwargs == {"foo": 1, "bar": "x"}


def test_values_are_yaml_typed():
    cfg = cfg_of("train.max_steps=10", "train.learning_rate=1e-5", "train.report_to=[none]",
                 "model.revision=null", "template.system='0123'")
    assert cfg.train.max_steps == 10 and isinstance(cfg.train.max_steps, int)
    assert cfg.train.learning_rate == 1e-5
    assert list(cfg.train.report_to) == ["none"]
    assert cfg.model.revision is None
    assert cfg.template.system == "0123"


def test_env_interpolation(monkeypatch):
    monkeypatch.setenv("SWIFT_TEST_LR", "5e-4")
    assert cfg_of("train.learning_rate=${oc.env:SWIFT_TEST_LR}").train.learning_rate == 5e-4


@pytest.mark.parametrize("argv, expected", [
    (["train.learning_rat=1"], "did you mean 'train.learning_rate'"),
    (["--learnig_rate", "1"], "did you mean '--learning_rate'"),
    (["tuner.lora.rank=4"], "valid keys under 'tuner.lora': "),
    (["trian.seed=1"], "sections: "),
])
def test_unknown_keys_fail_with_suggestions(argv, expected):
    with pytest.raises(ConfigError) as err:
        cfg_of(*argv)
    assert expected in str(err.value)


def test_unknown_key_in_file_names_the_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("train:\n  learnig_rate: 1\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'train.learnig_rate' \(.*bad.yaml\)"):
        cfg_of(str(f))


def test_bad_values_name_key_and_source():
    with pytest.raises(ConfigError, match=r"bad value for 'train.max_steps' from --max_steps: 'ten' \(expected int\)"):
        cfg_of("--max_steps", "ten")
    with pytest.raises(ConfigError, match=r"template.truncation_strategy='middle' is not allowed.*"):
        cfg_of("template.truncation_strategy=middle")


def test_cli_errors_have_no_traceback(capsys):
    assert main(["sft", "train.learning_rat=1"]) == 2
    err = capsys.readouterr().err
    assert "error: unknown config key 'train.learning_rat'" in err and "Traceback" not in err
    assert "did you mean 'train.learning_rate'" in err


def test_print_config_shows_resolved_config(capsys):
    assert main(["sft", "--lora_rank", "4", "+model.model_kwargs.x=1", "--print-config"]) == 0
    printed = OmegaConf.create(capsys.readouterr().out)
    assert printed.tuner.lora.r == 4 and printed.model.model_kwargs.x == 1 and printed.train.seed == 42


def test_help_lists_every_option_with_type_default_and_doc(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    schema = build_schema()
    for path, info in schema.fields.items():
        assert path in text, path
    assert "tuner.lora: --tuner_type lora: LoRA options  [plugin: peft]" in text
    assert "train.learning_rate  (--learning_rate)" in text and "float | None = None" in text
    assert "sft " in text and "infer " in text and "quickstart " in text
    assert main(["sft", "--help"]) == 0
    sft = capsys.readouterr().out
    assert "tuner.lora.r  (--lora_rank)" in sft and "infer.max_new_tokens" not in sft
    assert main(["infer", "--help"]) == 0
    assert "infer.max_new_tokens  (--max_new_tokens)" in capsys.readouterr().out


def test_unknown_command_suggests(capsys):
    assert main(["sfft"]) == 2
    err = capsys.readouterr().err
    assert "no installed plugin provides command 'sfft'" in err and "did you mean 'sft'" in err


def test_bool_flag_does_not_swallow_a_config_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  seed: 9\n")
    cfg = cfg_of("--packing", str(f), "--stream", "no")
    assert cfg.data.packing is True and cfg.train.seed == 9 and cfg.infer.stream is False


def test_infer_print_config_includes_the_saved_run(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("model:\n  id: /models/base\ntemplate:\n  name: chatml\n"
                                          "tuner:\n  type: lora\n")
    (tmp_path / "adapter_config.json").write_text("{}")
    assert main(["infer", "--adapters", str(tmp_path), "--print-config"]) == 0
    printed = OmegaConf.create(capsys.readouterr().out)
    assert printed.model.id == "/models/base" and printed.template.name == "chatml"
    assert main(["infer", "--adapters", str(tmp_path), "--template", "qwen", "--print-config"]) == 0
    assert OmegaConf.create(capsys.readouterr().out).template.name == "qwen"  # the command line wins
