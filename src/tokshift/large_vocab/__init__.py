"""A vocabulary far larger than the base's, embedded by the hypernetwork and searched with FAISS.

- vocabulary.py: BPE continued from the base tokenizer; LargeVocab encodes text with it.
- index.py: the FAISS inner-product index over output embeddings (norm column, padding, fingerprint).
- whiten.py: query-whitened coordinates for the index.
- states.py: the model's hidden states over large-vocabulary text (the index's queries).
- folder.py: build the vocab_index folder (extend, embed in resumable shards, index) and open it.
- evaluate.py: tokens and bits per byte against the base, recall@k, argmax rate, output-layer latency.
- generate.py: generation with an ANN output layer.
"""
