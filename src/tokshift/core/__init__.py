"""The floor every package stands on; imports nothing else from tokshift.

- params.py: a params.yaml section into a typed dataclass; every error names the field.
- atomic.py: temp-then-rename writers, so a failed or killed run never replaces a good output.
- errors.py: TokshiftError, the base of every error a user can fix, and what stages and the CLI catch.
"""
