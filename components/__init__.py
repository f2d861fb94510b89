"""The cards (components) that plug into the board, one package each."""
