"""Seeded synthetic text for tokenizers, benchmarks and smoke runs (no downloads)."""
from __future__ import annotations

import random

SYLLABLES = ("ka", "lo", "mi", "ter", "an", "sol", "ri", "ven", "du", "pa", "ne", "gor", "shi", "tu", "bel", "ox",
             "qua", "ri", "zen", "fa", "mo", "lin", "es", "ta", "ur", "vi", "cor", "da", "ple", "nu")


def pseudo_words(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(n)]


def sentence(rng: random.Random, vocab: list[str], n_words: int) -> str:
    words = [rng.choice(vocab) for _ in range(n_words)]
    return " ".join(words).capitalize() + "."


def instruction_rows(n: int, min_words: int = 4, max_words: int = 24, seed: int = 0) -> list[dict]:
    """Chat rows whose reply restates the prompt's words in reverse order (lengths vary in a range)."""
    rng = random.Random(seed)
    vocab = pseudo_words(400, seed=1)
    rows = []
    for _ in range(n):
        words = [rng.choice(vocab) for _ in range(rng.randint(min_words, max_words))]
        rows.append({"messages": [
            {"role": "user", "content": "Say these words backwards: " + " ".join(words)},
            {"role": "assistant", "content": " ".join(reversed(words))},
        ]})
    return rows


def corpus(n_sentences: int = 3000, seed: int = 0, n_words: int = 400) -> list[str]:
    """Sentences over ``n_words`` pseudo-words plus arithmetic lines; more words make a BPE learn more merges."""
    rng = random.Random(seed)
    vocab = pseudo_words(400, seed=1) + pseudo_words(max(0, n_words - 400), seed=2)
    lines = [sentence(rng, vocab, rng.randint(3, 20)) for _ in range(n_sentences)]
    lines += [f"{a} + {b} = {a + b}" for a, b in ((rng.randint(0, 999), rng.randint(0, 999)) for _ in range(500))]
    lines += ["Say these words backwards:", "Which is larger?", "What is the answer?"] * 20
    return lines
