"""The host's configuration schema: OmegaConf structured configs built from these dataclasses.

Each field carries ``help`` (shown by ``swift <cmd> --help``) and, where ms-swift has a flag for it, the
flat ``flags`` it answers to (``--learning_rate`` -> ``train.learning_rate``). Plugins mount their own
sections (``tuner.lora``, ...) through the ``swift_register_config`` hook.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def opt(default: Any = None, help: str = "", flags: tuple[str, ...] = (), choices: tuple[Any, ...] = (),
        **kw: Any) -> Any:
    """A config field with its help text, ms-swift flag aliases and allowed values."""
    metadata = {"help": help, "flags": flags, "choices": choices}
    if isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata=metadata, **kw)
    return field(default=default, metadata=metadata, **kw)


@dataclass
class ModelArgs:
    id: str | None = opt(None, "local model directory or hub id (e.g. Qwen/Qwen2.5-0.5B-Instruct)",
                         flags=("model", "model_id_or_path"))
    model_type: str | None = opt(None, "model family to load it with; detected from config.json when unset "
                                 "(a family name from `swift plugins`, or a config.json model_type)")
    torch_dtype: str = opt("auto", "weights dtype; 'auto' is float32 on CPU and the checkpoint's dtype on GPU",
                           choices=("auto", "float32", "bfloat16", "float16"))
    trust_remote_code: bool = opt(False, "run Python code shipped with the model (off unless you trust it)")
    revision: str | None = opt(None, "hub revision (branch, tag or commit)", flags=("model_revision",))
    use_hf: bool = opt(True, "download from the Hugging Face hub (false: ModelScope, needs `pip install modelscope`)")
    hub_token: str | None = opt(None, "hub access token (default: the hub library's own login)")
    cache_dir: str | None = opt(None, "where hub downloads go (default: the hub library's cache)")
    attn_impl: str | None = opt(None, "attention implementation passed to transformers (sdpa, eager, flash_attention_2)")
    device_map: str | None = opt(None, "device_map for loading (default: one device)")
    model_kwargs: dict[str, Any] = opt({}, "extra keyword arguments for the model loader (JSON on the command line)")


@dataclass
class TemplateArgs:
    name: str | None = opt(None, "chat template: unset uses the tokenizer's own, else the family default; "
                           "or a registered name (chatml, llama3, qwen, ...)", flags=("template",))
    system: str | None = opt(None, "default system prompt (rows with their own system prompt keep it)")
    max_length: int | None = opt(2048, "longest encoded row in tokens; longer rows follow truncation_strategy")
    truncation_strategy: str = opt("delete", "what to do with rows longer than max_length",
                                   choices=("delete", "left", "right"))
    loss_on: str = opt("assistant", "which tokens are trained on in sft: every assistant turn, only the last "
                       "one, or every token", choices=("assistant", "last", "all"))


@dataclass
class DataArgs:
    dataset: list[str] = opt([], "training data: local jsonl/json/csv/parquet files or registered names; "
                             "`path#N` samples N rows", flags=("dataset",))
    val_dataset: list[str] = opt([], "held-out data, same forms as --dataset", flags=("val_dataset",))
    split_dataset_ratio: float = opt(0.0, "fraction of --dataset held out for evaluation when no --val_dataset")
    num_proc: int = opt(1, "processes that encode the dataset", flags=("dataset_num_proc",))
    packing: bool | None = opt(None, "padding-free batches: the rows of a batch are laid end to end in one "
                               "sequence with no padding (attention stays within each row; same rows, same loss). "
                               "Unset: on for models known to support it (Llama/Qwen/Mistral-style attention on "
                               "CPU, or flash-attention), off otherwise")
    shuffle: bool = opt(True, "shuffle the training rows", flags=("dataset_shuffle",))
    seed: int = opt(42, "seed for dataset sampling and splits", flags=("data_seed",))
    cache: bool = opt(True, "cache encoded datasets (keyed on data, template, tokenizer and settings)")
    cache_dir: str | None = opt(None, "encoded-dataset cache (default: $SWIFT_CACHE or ~/.cache/swift/datasets)")


@dataclass
class TunerArgs:
    type: str = opt("lora", "how the model is made trainable: lora, full, freeze, ... (`swift plugins` lists them)",
                    flags=("tuner_type", "train_type", "sft_type"))


@dataclass
class TrainArgs:
    output_dir: str = opt("output", "where checkpoints, the final adapter/model and config.yaml go")
    overwrite_output_dir: bool = opt(False, "train into an output_dir that already holds a finished run")
    strategy: str = opt("single", "how training processes run: single, or a parallel strategy from a plugin")
    num_train_epochs: float = opt(3.0, "epochs over the training data")
    max_steps: int = opt(-1, "stop after this many optimizer steps (-1: run the epochs)")
    per_device_train_batch_size: int = opt(1, "rows per step per process", flags=("batch_size",))
    per_device_eval_batch_size: int = opt(1, "rows per evaluation step per process")
    gradient_accumulation_steps: int | None = opt(None, "batches per optimizer step (default: enough for 16 rows "
                                                  "per step across processes)")
    learning_rate: float | None = opt(None, "peak learning rate (default: 1e-4 for adapters, 1e-5 for full/freeze)")
    lr_scheduler_type: str = opt("cosine", "learning-rate schedule (any transformers SchedulerType)")
    warmup_ratio: float = opt(0.0, "fraction of steps spent warming up")
    warmup_steps: int = opt(0, "warm-up steps (overrides warmup_ratio when > 0)")
    weight_decay: float = opt(0.1, "AdamW weight decay")
    max_grad_norm: float = opt(1.0, "gradient clipping norm")
    optim: str = opt("adamw_torch", "optimizer (any transformers OptimizerNames value)")
    seed: int = opt(42, "seed for initialisation, dropout and data order", flags=("seed",))
    logging_steps: int = opt(5, "log loss and learning rate every N steps")
    save_steps: int = opt(500, "save a checkpoint every N steps")
    eval_steps: int | None = opt(None, "evaluate every N steps (default: save_steps) when there is held-out data")
    save_total_limit: int | None = opt(None, "keep only the newest N checkpoints")
    save_only_model: bool = opt(False, "checkpoints without optimizer state (cannot be resumed exactly)")
    resume_from_checkpoint: str | None = opt(None, "checkpoint directory to continue from, or 'last'")
    gradient_checkpointing: bool = opt(False, "recompute activations in backward to save memory (slower)")
    report_to: list[str] = opt(["tensorboard"], "where metrics go: tensorboard, wandb, none, ...")
    logging_dir: str | None = opt(None, "TensorBoard directory (default: <output_dir>/runs)")
    dataloader_num_workers: int = opt(0, "data-loading worker processes")
    group_by_length: bool = opt(False, "batch rows of similar length together: less padding, but batches are no "
                                "longer uniform samples (--packing avoids padding and keeps them uniform)")
    disable_tqdm: bool = opt(False, "hide progress bars")


@dataclass
class InferArgs:
    backend: str = opt("pt", "inference backend: pt, or one from a plugin (vllm, sglang, lmdeploy)",
                       flags=("infer_backend",))
    adapters: list[str] = opt([], "adapter directories to apply (a swift output directory or checkpoint)",
                              flags=("adapters",))
    max_new_tokens: int | None = opt(512, "longest reply in tokens")
    temperature: float | None = opt(0.0, "sampling temperature; 0 is greedy")
    top_k: int | None = opt(None, "sample from the k most likely tokens")
    top_p: float | None = opt(None, "nucleus sampling threshold")
    repetition_penalty: float | None = opt(None, "penalise repeated tokens (>1)")
    stream: bool = opt(True, "print the reply as it is generated (interactive mode)")
    result_path: str | None = opt(None, "with --val_dataset: write one JSON line per row here")
    max_batch_size: int = opt(16, "rows generated together in batch inference")
    seed: int | None = opt(None, "sampling seed")


@dataclass
class SwiftConfig:
    model: ModelArgs = field(default_factory=ModelArgs, metadata={"help": "which model and how to load it"})
    template: TemplateArgs = field(default_factory=TemplateArgs, metadata={"help": "chat template and encoding"})
    data: DataArgs = field(default_factory=DataArgs, metadata={"help": "datasets"})
    tuner: TunerArgs = field(default_factory=TunerArgs, metadata={"help": "what is trained"})
    train: TrainArgs = field(default_factory=TrainArgs, metadata={"help": "training loop"})
    infer: InferArgs = field(default_factory=InferArgs, metadata={"help": "inference"})
