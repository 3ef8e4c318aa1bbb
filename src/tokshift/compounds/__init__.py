"""CompoundPiece: decompounding data from hyphenated words, decompounders, and compound-aware tokenizers."""
