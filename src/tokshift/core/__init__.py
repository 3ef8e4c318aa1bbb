"""The floor every package stands on; imports nothing else from tokshift.

- params.py: a params.yaml section into a typed dataclass; every error names the field.
- atomic.py: temp-then-rename writers, so a failed or killed run never replaces a good output.
- errors.py: TokshiftError, the base of every error a user can fix, and what stages and the CLI catch.
- tensors.py: safetensors files read with an error that names the file.
- device.py: the `device` setting (auto, cpu, cuda) and bf16 autocast (CUDA, bf16-native CPUs).
- cluster.py: the `cluster` setting: independent tasks here or fanned out on Dask, results in task order.
"""
