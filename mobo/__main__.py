"""`python -m mobo …` is the `mobo` command (supervisor's programs use this form)."""

from mobo.cli import main

main()
