"""The linear program that turns pair counts along a merge list into category weights.

At merge t the merged pair m_t was the most frequent pair of the training data, so for every other pair
p the unknown weights a (a_i >= 0, sum 1) satisfy sum_i a_i (c_i,t(m_t) - c_i,t(p)) >= 0, with c_i,t the
counts per byte of category i at step t. Samples are not the training data, so each constraint gets slack:
v_t for the step and v_p for the pair, and the LP minimises sum v_t + sum v_p (Hayase et al., 2024).
There are T x (number of pairs) constraints; almost all hold for any sensible a, so they are added
lazily: replay the counts under the current a (a heap over a.c(p) - v_p), collect the pairs that beat
the merged one by more than the tolerance at each step, solve again with them, and stop when a full
replay finds none. Merges whose pair occurs in no sample say nothing about the categories: skipped.
The LP is HiGHS's (highspy), kept between rounds so each solve restarts from the last basis.
"""

from __future__ import annotations

import heapq
import logging
import time
from dataclasses import dataclass

import highspy
import numpy as np

from tokshift.core.errors import TokshiftError
from tokshift.core.params import check
from tokshift.mixture.counts import PairCounts

log = logging.getLogger(__name__)


class SolverError(TokshiftError, RuntimeError):
    """The LP could not be solved (infeasible or numerically failed); the message is the solver's."""


@dataclass
class SolverConfig:
    per_step: int = 10
    """Violated competitor pairs added per merge step in one round (the most violated first)."""
    max_add: int = 100000
    """At most this many constraints (the most violated) are added per round before the LP is solved again."""
    max_rounds: int = 200
    """Give up adding constraints after this many rounds (the estimate is then reported as not converged)."""
    tol: float = 1e-3
    """A pair counts as beating the merge when it is ahead by more than this (counts per million bytes)."""

    def __post_init__(self) -> None:
        check(self.per_step >= 1, "per_step", f"must be >= 1, got {self.per_step}")
        check(self.max_add >= 1, "max_add", f"must be >= 1, got {self.max_add}")
        check(self.max_rounds >= 1, "max_rounds", f"must be >= 1, got {self.max_rounds}")
        check(self.tol >= 0, "tol", f"must be >= 0, got {self.tol}")


@dataclass
class Estimate:
    weights: dict[str, float]
    """Category -> inferred share of the training data (sums to 1)."""
    slack: float
    """The LP's objective: total slack needed (0 = the counts explain every merge exactly)."""
    step_slack: float
    """Part of the slack on merge steps (sum v_t)."""
    pair_slack: float
    """Part of the slack on competing pairs (sum v_p)."""
    constraints: int
    """Constraints in the final LP."""
    rounds: int
    """Replay + solve rounds."""
    converged: bool
    """True when the last replay found no violated constraint."""
    residual: float
    """Slack the last replay found missing (sum over steps of the worst violation; 0 when converged): raising
    each v_t by its step's share makes the estimate feasible, so slack + residual bounds the optimum from above."""
    used_merges: int
    """Merges that gave constraints (their pair occurs in some sample)."""
    unseen_merges: int
    """Merges whose pair occurs in no category's sample at that step (skipped)."""
    lp_seconds: float
    """Time in the LP solver."""
    replay_seconds: float
    """Time replaying counts to find violated constraints."""


class _Program:
    """The growing LP in one HiGHS instance: columns [a (n), v_t (T), v_p (one per pair, added with its first
    row)], rows a.diff + v_t + v_p >= 0. Rows are added between solves, so dual simplex restarts warm."""

    def __init__(self, n: int, steps: int) -> None:
        self.n, self.steps = n, steps
        self.pair_col: dict[int, int] = {}
        self.seen: set[tuple[int, int]] = set()
        self.rows = 0
        self._pending: list[tuple[int, int, np.ndarray]] = []
        h = self.highs = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", 0)
        inf = highspy.kHighsInf
        cost = np.concatenate([np.zeros(n), np.ones(steps)])
        upper = np.concatenate([np.ones(n), np.full(steps, inf)])
        h.addCols(n + steps, cost, np.zeros(n + steps), upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32),
                  np.zeros(0))
        h.addRows(1, np.ones(1), np.ones(1), n, np.zeros(1, np.int32), np.arange(n, dtype=np.int32), np.ones(n))

    def add(self, t: int, pair: int, diff: np.ndarray) -> None:
        self.seen.add((t, pair))
        self._pending.append((t, pair, diff))

    def solve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(a, v_t, v_p by pair column, objective) after adding the pending rows."""
        h, n, inf = self.highs, self.n, highspy.kHighsInf
        new = [p for _, p, _ in self._pending if p not in self.pair_col]
        for p in dict.fromkeys(new):
            self.pair_col[p] = len(self.pair_col)
        if len(self.pair_col) > h.getNumCol() - n - self.steps:
            k = len(self.pair_col) - (h.getNumCol() - n - self.steps)
            h.addCols(k, np.ones(k), np.zeros(k), np.full(k, inf), 0, np.zeros(0, np.int32), np.zeros(0, np.int32),
                      np.zeros(0))
        if self._pending:
            m = len(self._pending)
            index = np.empty((m, n + 2), dtype=np.int32)
            value = np.empty((m, n + 2))
            index[:, :n] = np.arange(n)
            for r, (t, p, diff) in enumerate(self._pending):
                index[r, n:] = (n + t, n + self.steps + self.pair_col[p])
                value[r, :n] = diff
            value[:, n:] = 1.0
            h.addRows(m, np.zeros(m), np.full(m, inf), m * (n + 2), np.arange(m, dtype=np.int32) * (n + 2),
                      index.ravel(), value.ravel())
            self.rows += m
            self._pending = []
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"the mixture LP failed ({h.modelStatusToString(status)}); try fewer merges or other "
                              f"categories")
        x = np.asarray(h.getSolution().col_value)
        return (np.clip(x[:n], 0, None), x[n:n + self.steps], x[n + self.steps:],
                float(h.getInfo().objective_function_value))


def _replay(counts: PairCounts, a: np.ndarray, v_t: np.ndarray, v_p: np.ndarray, program: _Program,
            cfg: SolverConfig) -> tuple[int, int, int, float]:
    """Add the constraints most violated under (a, v); returns (added, used merges, unseen merges, residual).

    A competing pair's gap to the merged pair usually grows along the merge list (later merges are rarer),
    so adding it at the first step it beats would add it again at nearly every later step. Instead one
    full replay keeps, for each pair, its most violated step, and for each step its `per_step` most
    violated pairs.
    """
    c = counts.initial.copy()
    pslack = np.zeros(c.shape[1])
    for pair, col in program.pair_col.items():
        pslack[pair] = v_p[col]
    prio = a @ c - pslack
    heap = [(-prio[p], p) for p in np.flatnonzero(prio > 0)]
    heapq.heapify(heap)
    by_pair: dict[int, tuple[float, int, np.ndarray]] = {}  # pair -> (violation, step, count difference)
    by_step: dict[tuple[int, int], tuple[float, np.ndarray]] = {}  # (step, pair) -> (violation, count difference)
    step_worst = 0.0  # sum over steps of the worst violation: raising each v_t by it makes (a, v) feasible
    used = unseen = 0
    for t, m in enumerate(counts.merged):
        if m >= 0 and c[:, m].sum() > 0:
            used += 1
            mine = c[:, m].copy()
            level = a @ mine + v_t[t]
            popped, looked = [], 0
            while heap and -heap[0][0] > level + cfg.tol and looked < cfg.per_step:
                item = heapq.heappop(heap)
                p = item[1]
                if prio[p] != -item[0]:
                    continue  # stale: this pair's priority changed after the entry was pushed
                popped.append(item)
                if p == m or (t, p) in program.seen:
                    continue
                looked += 1
                gap = prio[p] - level
                if gap > by_pair.get(p, (0.0,))[0]:
                    by_pair[p] = (gap, t, mine - c[:, p])
                if looked == 1:
                    step_worst += gap
                by_step[t, p] = (gap, mine - c[:, p])
            for item in popped:
                heapq.heappush(heap, item)
        else:
            unseen += 1
        keys, deltas = counts.steps[t]
        if keys.size:
            c[:, keys] += deltas
            prio[keys] = a @ c[:, keys] - pslack[keys]
            for p, value in zip(keys.tolist(), prio[keys].tolist(), strict=True):
                if value > 0:
                    heapq.heappush(heap, (-value, p))
    found = {(t, p): (gap, diff) for p, (gap, t, diff) in by_pair.items()}
    found.update(by_step)
    worst = sorted(found.items(), key=lambda item: -item[1][0])[:cfg.max_add]
    for (t, p), (_, diff) in worst:
        program.add(t, p, diff)
    return len(worst), used, unseen, step_worst


def solve_mixture(counts: PairCounts, cfg: SolverConfig) -> Estimate:
    """Category weights that best explain the merge order, by lazy constraint generation."""
    n, steps = len(counts.categories), len(counts.merged)
    program = _Program(n, steps)
    a, v_t, v_p, objective = np.full(n, 1.0 / n), np.zeros(steps), np.zeros(0), 0.0
    lp_seconds = replay_seconds = 0.0
    converged, rounds = False, 0
    while rounds < cfg.max_rounds:
        rounds += 1
        start = time.perf_counter()
        added, used, unseen, residual = _replay(counts, a, v_t, v_p, program, cfg)
        replay_seconds += time.perf_counter() - start
        if not added:
            converged = True
            break
        start = time.perf_counter()
        a, v_t, v_p, objective = program.solve()
        lp_seconds += time.perf_counter() - start
        log.debug("round %d: %d constraints, slack %.6g, residual %.4g", rounds, program.rows, objective, residual)
    if not converged:
        log.warning("mixture LP not converged after %d rounds (%d constraints); raise solver.max_rounds",
                    rounds, program.rows)
    a = a / a.sum()
    weights = dict(zip(counts.categories, a.tolist(), strict=True))
    return Estimate(weights, objective, float(v_t.sum()), float(v_p.sum()), program.rows, rounds, converged,
                    residual, used, unseen, lp_seconds, replay_seconds)
