"""Encoders: a downstream task from the parallel LibreOffice help, and its evaluation on sentence embeddings.

- help_task.py: retrieval and topic items (English and eight translations), held out of the corpus train split.
- evaluate.py: P@1, MRR and zero-shot cross-lingual topic accuracy of an encoder and its transfers.
"""
