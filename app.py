"""Entry point: ``flask`` finds ``app`` here without FLASK_APP; gunicorn runs ``app:app``."""

from survey import create_app

app = create_app()
