"""gunicorn settings for Stigen in a checkout: ``gunicorn app:app``. The settings (and
what the logs hold, and why) are ``survey/gunicorn_conf.py``, shipped in the package,
which an installed Stigen uses as ``gunicorn -c python:survey.gunicorn_conf``."""

import os
import sys

# This file's directory, so that ``survey`` imports however gunicorn was started.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from survey.gunicorn_conf import *  # noqa: E402,F401,F403
