"""The LM loss through the frozen base model with predicted embeddings."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import hyper_for
from tokshift.hypernet.objective import lm_loss
from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices, param_names
from tokshift.tokenization.pieces import pad_pieces


@pytest.mark.parametrize("name", ["llama-tied", "neox-untied"])
def test_lm_loss_matches_the_model_and_reaches_the_hypernetwork(tiny_models, name):
    model, _ = load_model(str(tiny_models[name]))
    model.requires_grad_(False)
    ids = torch.randint(0, model.config.vocab_size, (2, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mats = {k: v.clone() for k, v in embedding_matrices(model).items()}
    ours = lm_loss(model, mats, ids, mask)
    assert torch.allclose(ours, model(input_ids=ids, labels=ids).loss, atol=1e-5), "same loss as the model's own"
    hyper = hyper_for(model)
    torch.nn.init.normal_(hyper.heads["input"].weight, std=0.1)
    pieces = pad_pieces([[i] for i in range(model.config.vocab_size)], 7)
    loss = lm_loss(model, hyper(pieces.ids, pieces.lengths), ids, mask)
    loss.backward()
    assert hyper.proj.weight.grad is not None and hyper.proj.weight.grad.abs().sum() > 0
    assert set(param_names(model)) >= set(embedding_matrices(model)), "a tied head is named too (to untie it)"


def test_an_output_matrix_replaces_a_tied_head_alone(tiny_models):
    model, _ = load_model(str(tiny_models["llama-tied"]))
    model.requires_grad_(False)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (2, 9), generator=gen)
    mats = {"input": embedding_matrices(model)["input"].clone(), "output": torch.randn(400, 32, generator=gen)}
    hidden = model.model(input_ids=ids).last_hidden_state
    expected = torch.nn.functional.cross_entropy((hidden @ mats["output"].T)[:, :-1].flatten(0, 1),
                                                 ids[:, 1:].flatten())
    torch.testing.assert_close(lm_loss(model, mats, ids, torch.ones_like(ids)), expected)
    assert torch.equal(model.lm_head.weight, model.model.embed_tokens.weight), "the model itself stays tied"


def test_the_lm_loss_on_a_models_own_embeddings_is_its_loss_on_ids_gemma3_scaling_included():
    """Gemma 3 scales embeddings by sqrt(hidden) inside its embedding layer, which inputs_embeds skip: the loss on
    predicted matrices must see what the model sees on token ids, or training optimises another model."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM

    from tokshift.hypernet.objective import causal_ce, lm_loss
    from tokshift.model.embeddings import embedding_matrices

    for model in (Gemma3ForCausalLM(Gemma3TextConfig(vocab_size=50, hidden_size=64, intermediate_size=64,
                                                     num_hidden_layers=1, num_attention_heads=2,
                                                     num_key_value_heads=1, head_dim=32)),
                  LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64,
                                               num_hidden_layers=1, num_attention_heads=2))):
        torch.manual_seed(0)
        ids, mask = torch.randint(0, 50, (2, 9)), torch.ones(2, 9, dtype=torch.long)
        with torch.no_grad():
            ours = lm_loss(model.eval(), embedding_matrices(model), ids, mask)
            theirs = causal_ce(model(input_ids=ids, attention_mask=mask).logits, ids, mask)
        assert torch.allclose(ours, theirs, atol=1e-5), type(model).__name__
