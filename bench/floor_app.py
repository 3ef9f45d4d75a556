"""The floor for submissions: a bare Flask endpoint that inserts one row into the same
database, served by gunicorn with Stigen's own gunicorn.conf.py (same workers, same access
log): ``gunicorn -c gunicorn.conf.py bench.floor_app:app``.

The suite creates the table ``bench_floor`` before it starts this server."""

from __future__ import annotations

import os
import uuid

from flask import Flask, request
from sqlalchemy import create_engine, text

from survey.config import engine_options, normalise_url  # also sets SQLite's WAL pragma

URL = normalise_url(os.environ["DATABASE_URL"])
engine = create_engine(URL, **engine_options(URL))
app = Flask(__name__)


@app.get("/")
def ready():
    return "ok"


@app.post("/floor")
def insert():
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO bench_floor (id, body) VALUES (:id, :body)"),
            {"id": uuid.uuid4().hex, "body": request.get_data(as_text=True)},
        )
    return "", 204
