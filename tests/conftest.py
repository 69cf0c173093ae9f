"""Test set-up: only the default plugins load, nothing touches the network, one thread per process.

Fixtures build tiny random models and tokenizers locally (see ``swift_plugin_text.tiny``).
"""
from __future__ import annotations

import os
from pathlib import Path

# Before anything imports torch: 2 shared cores are slower with more threads than processes.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
# The test guard: stray installed plugins (e.g. the example plugin a test installs) never load unless a
# test asks for them.
DEFAULT_PLUGINS = "text,peft,pt"
os.environ["SWIFT_PLUGINS"] = DEFAULT_PLUGINS

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    cache = Path(config.rootpath) / ".pytest_cache" / "swift-cache"
    os.environ.setdefault("SWIFT_CACHE", str(cache))


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch: pytest.MonkeyPatch):
    """Every test starts from the default plugin set."""
    import swift.plugins

    monkeypatch.setenv("SWIFT_PLUGINS", DEFAULT_PLUGINS)
    swift.plugins.reset()
    yield
    swift.plugins.reset()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A very small random Qwen2 (2 layers, hidden 64) with a tokenizer trained on English-like text."""
    from swift_plugin_text.tiny import build_tiny_qwen2, build_tokenizer

    words = ("the a of to and in is it you that he was for on are with as his they be at one have this from "
             "or had by word but what some we can out other were all there when up use your how said an each "
             "which she do their time if will way about many then them write would like so these her long "
             "make thing see him two has look more day could go come did number sound no most people my over "
             "know water than call first who may down side been now find any new work part take get place made "
             "live where after back little only round man year came show every good me give our under name "
             "very through just form sentence great think say help low line differ turn cause much mean before "
             "move right boy old too same tell does set three want air well also play small end put home read "
             "hand port large spell add even land here must big high such follow act why ask men change went "
             "light kind off need house picture try us again animal point mother world near build self earth "
             "father head stand own page should country found answer school grow study still learn plant cover "
             "food sun four between state keep eye never last let thought city tree cross farm hard start might "
             "story saw far sea draw left late run while press close night real life few north Which larger "
             "smaller What plus minus equals Hello hi yes no").split()
    corpus = [" ".join(words[i:i + 12]) for i in range(0, len(words), 3)] + [f"{i} + {i + 7} = {2 * i + 7}" for i in range(200)]
    tok = build_tokenizer(corpus, vocab_size=600)
    out = tmp_path_factory.mktemp("models") / "tiny-qwen2"
    build_tiny_qwen2(str(out), tok, hidden_size=64, num_layers=2, intermediate_size=128, num_heads=4, num_kv_heads=2)
    return out


@pytest.fixture(scope="session")
def tokenizer(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_dir))
