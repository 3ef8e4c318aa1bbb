"""How often greedy generation through a large vocabulary's index picks tokens beyond the base vocabulary.

Each --vocab-index folder (the vocab_index stage's output, e.g. one built from a tied and one from an untied
hypernetwork) continues the same German and Python prompts for --tokens tokens; prints each continuation with its
count of tokens beyond the base, and the share over all prompts. Example (docs/hypernet.md):

    python bench/large_vocab_reach.py --vocab-index storage/vocab_index /tmp/untied_vocab_index
"""

from __future__ import annotations

import argparse

from tokshift.large_vocab.folder import open_large_vocab
from tokshift.large_vocab.generate import GenerateConfig, generate
from tokshift.model.base import load_model
from tokshift.model.score import bos_id

PROMPTS = ["Die Datei wird im Ordner gespeichert, wenn Sie", "Wählen Sie im Menü Format den Befehl",
           "Mit dieser Funktion können Sie", "def read_config(path):\n    ", "import os\n\n\ndef list_files(",
           "class Parser:\n    def __init__(self, text):\n        "]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--vocab-index", nargs="+", required=True, help="vocab_index stage output folders")
    parser.add_argument("--tokens", type=int, default=32, help="tokens generated per prompt (greedy)")
    args = parser.parse_args()
    model, tok = load_model(args.model)
    for folder in args.vocab_index:
        vocab, matrix, index = open_large_vocab(folder, model, tok.backend_tokenizer)
        total = extra = 0
        for prompt in PROMPTS:
            out = generate(model, vocab, index, matrix, prompt, start_id=bos_id(tok),
                           cfg=GenerateConfig(max_new_tokens=args.tokens), stop_ids={tok.eos_token_id})
            beyond = sum(i >= vocab.base_size for i in out.ids)
            total, extra = total + out.steps, extra + beyond
            print(f"{folder} {prompt!r}: {out.steps} tokens, {beyond} beyond the base: {out.text[:80]!r}", flush=True)
        print(f"{folder}: {extra} of {total} tokens beyond the base ({extra / max(total, 1):.1%})", flush=True)


if __name__ == "__main__":
    main()
