"""Tokenizer transfer by any method, as a folder that becomes a stock Hugging Face model.

- methods.py: `transfer(model, tokenizer, method, out)` for fvt, focus, mean, random and hypernet.
- folder.py: the transfer folder (tokenizer + embeddings.safetensors + transfer.json): write, read, apply.
- export.py: a full model folder with a model card, loadable with AutoModelForCausalLM.
"""
