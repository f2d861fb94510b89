"""MagMoBo: the MagFlock motherboard (kernel, cards and the `mobo` CLI)."""

__version__ = "0.1.0"
