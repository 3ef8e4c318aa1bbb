"""Chat conventions a base tokenizer hands to a target: the chat template and the bos/eos/pad/unk roles.

An instruct model answers through its chat template and stops at the template's end-of-turn token, so a
transfer of it stays a chat model only if the target tokenizer carries the same template and names the
same tokens for each role. `carry_chat` copies both when every token the template uses exists in the
target (tokshift trains its targets with the base's special tokens) and refuses in one line otherwise.
Leaves out: writing a new template; token ids in model configs (transfers/export.py).
"""

from __future__ import annotations

import re

from transformers import PreTrainedTokenizerBase

from tokshift.core.errors import TokshiftError
from tokshift.tokenization.specials import SPECIAL_ROLES, special_strings


class ChatTemplateError(TokshiftError, ValueError):
    """The base model's chat template uses special tokens the target tokenizer lacks."""


def templates(tok: PreTrainedTokenizerBase) -> dict[str, str]:
    """The tokenizer's chat templates by name ('default' for a single template); {} for a model without one."""
    template = getattr(tok, "chat_template", None)
    if not template:
        return {}
    if isinstance(template, str):
        return {"default": template}
    if isinstance(template, dict):
        return dict(template)
    return {str(t["name"]): t["template"] for t in template}  # the list form [{name, template}, ...]


def template_tokens(tok: PreTrainedTokenizerBase) -> list[str]:
    """Special tokens the chat template writes: named literally, or through a role variable (`{{ bos_token }}`)."""
    text = "\n".join(templates(tok).values())
    used = [t for t in special_strings(tok) if t in text]
    for role in SPECIAL_ROLES:
        token = getattr(tok, role, None)
        if token is not None and re.search(rf"\b{role}\b", text) and str(token) not in used:
            used.append(str(token))
    return used


def carry_chat(target: PreTrainedTokenizerBase, base: PreTrainedTokenizerBase, where: str = "target tokenizer",
               template: bool = True) -> None:
    """Give `target` the base's role tokens (where the target has them) and chat template.

    `template=False` leaves the template out (a plain-text model made from a chat model). A template whose special
    tokens the target lacks is refused, naming them, and `target` is left unchanged.
    """
    vocab = target.get_vocab()
    chat = templates(base) if template else {}
    missing = [t for t in template_tokens(base) if t not in vocab] if chat else []
    if missing:
        raise ChatTemplateError(
            f"{where}: the base model's chat template writes {missing}, which this tokenizer lacks; train it with "
            f"them (params.yaml: tokenizers.<name>.special_tokens) or export without the template "
            f"(--no-chat-template)")
    for role in SPECIAL_ROLES:
        token = getattr(base, role, None)
        if token is not None and str(token) in vocab:
            setattr(target, role, str(token))
    if chat:
        target.chat_template = chat["default"] if list(chat) == ["default"] else chat
