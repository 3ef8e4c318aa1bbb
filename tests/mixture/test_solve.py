"""The LP recovers a known mixture: exactly when the sample is the training text, and with slack reported."""

from __future__ import annotations

import numpy as np
import pytest

from tokshift.mixture.counts import count_pairs
from tokshift.mixture.merges import word_counts
from tokshift.mixture.samples import n_bytes
from tokshift.mixture.solve import SolverConfig, SolverError, _Program, solve_mixture


def infer_from(bpe, texts, merges=300, **solver):
    words = {c: word_counts(bpe.tokenizer, t) for c, t in texts.items()}
    counts = count_pairs(words, {c: n_bytes(t) for c, t in texts.items()}, bpe.merges, bpe.vocab, merges)
    return solve_mixture(counts, SolverConfig(**solver))


def test_the_training_text_itself_gives_the_truth_without_slack(mixture_bpe, mixture_texts):
    bpe, truth = mixture_bpe
    est = infer_from(bpe, mixture_texts)
    # The true weights explain every merge exactly (the trainer picked the most frequent pair each time).
    assert est.converged and est.residual == 0
    assert est.slack == pytest.approx(0, abs=1e-6)
    for lang, share in truth.items():
        assert est.weights[lang] == pytest.approx(share, abs=0.02)
    assert sum(est.weights.values()) == pytest.approx(1)
    assert est.used_merges + est.unseen_merges == 300


def test_other_text_of_the_same_languages_needs_slack_but_stays_close(mixture_bpe):
    from tests.helpers import make_text

    bpe, truth = mixture_bpe
    fresh = {lang: [make_text(lang, 20, 5000 + i) for i in range(8)] for lang in truth}
    est = infer_from(bpe, fresh)
    assert est.slack > 0 and est.converged
    assert est.step_slack + est.pair_slack == pytest.approx(est.slack, rel=1e-6)
    errors = [abs(est.weights[lang] - share) for lang, share in truth.items()]
    assert max(errors) < 0.15
    # far better than guessing uniformly
    assert np.mean(np.square(errors)) < np.mean([(1 / 3 - s) ** 2 for s in truth.values()]) / 4


def test_a_category_the_tokenizer_never_saw_gets_almost_nothing(mixture_bpe, mixture_texts):
    from tests.helpers import make_text

    bpe, _ = mixture_bpe
    texts = dict(mixture_texts)
    texts["xx"] = [make_text("ru", 20, 9000 + i).upper() for i in range(6)]  # upper-case Cyrillic: unseen
    est = infer_from(bpe, texts)
    assert est.weights["xx"] < 0.02


def test_a_round_limit_reports_not_converged(mixture_bpe, mixture_texts):
    bpe, _ = mixture_bpe
    est = infer_from(bpe, mixture_texts, max_rounds=1)
    assert not est.converged and est.rounds == 1


def test_an_infeasible_lp_is_one_clear_error():
    program = _Program(2, 1)
    program.add(0, 5, np.array([1.0, -1.0]))
    # weights capped at 0.1 each cannot sum to 1
    program.highs.changeColsBounds(2, np.array([0, 1], dtype=np.int32), np.zeros(2), np.full(2, 0.1))
    with pytest.raises(SolverError, match="the mixture LP failed \\(Infeasible\\); try fewer merges"):
        program.solve()
