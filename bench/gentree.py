#!/usr/bin/env python3
"""Generates the benchmark tree: N files of 1-42 KiB (about 1 GiB for 50,000) in a 4-level folder tree, half text-like
(compressible), half random bytes. Deterministic for a given seed."""
import os, random, sys

def main(root, files=50000, seed=2026):
    rng = random.Random(seed)
    words = ["backup", "archive", "stage", "store", "purge", "collect", "peer", "master", "client", "disc",
             "session", "image", "digest", "weekly", "daily", "incremental", "the", "of", "and", "to", "a",
             "in", "is", "for", "on", "with", "as", "by", "at", "from", "config", "value", "error", "warning"]
    corpus = " ".join(rng.choice(words) + ("\n" if rng.random() < 0.08 else "") for _ in range(400000)).encode()
    for i in range(files):
        a, b, c, d = i % 8, (i // 8) % 8, (i // 64) % 8, (i // 512) % 4
        folder = os.path.join(root, f"l1-{a}", f"l2-{b}", f"l3-{c}", f"l4-{d}")
        if i < 2048:
            os.makedirs(folder, exist_ok=True)
        size = rng.randint(1024, 43008)
        if i % 2 == 0:
            start = rng.randint(0, len(corpus) - size - 1)
            data = corpus[start:start + size]
        else:
            data = rng.randbytes(size)
        with open(os.path.join(folder, f"f{i:05d}.{'txt' if i % 2 == 0 else 'bin'}"), "wb") as f:
            f.write(data)

if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50000)
