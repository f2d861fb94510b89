"""One adapter per engine; `base` holds the contract they share."""
