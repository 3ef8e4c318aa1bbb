"""n-shot adaptation: continue training a transferred model on its own tokenizer (config, data, training)."""
