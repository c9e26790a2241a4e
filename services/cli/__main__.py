"""``python -m services.cli``: the same as the ``newswire`` command."""

from services.cli.main import app

app()
