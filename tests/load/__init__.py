"""Load tests: many concurrent respondents against real gunicorn processes on loopback."""
