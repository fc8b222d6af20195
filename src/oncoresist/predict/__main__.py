"""``python -m oncoresist.predict COMMAND`` runs the ``predict`` commands on their own."""

from __future__ import annotations

import sys

from rich.console import Console

from ..errors import OncoresistError
from ._cli import predict_app


def main() -> int:
    """Run the ``predict`` command group; oncoresist errors exit with code 2."""
    try:
        predict_app(standalone_mode=False)
    except OncoresistError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
