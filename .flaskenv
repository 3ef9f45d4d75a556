# `flask run` (development): the app in app.py. Debug mode is a flag, never a default
# here: `flask run --debug`. Settings of your own (DATABASE_URL, SECRET_KEY, …) go in
# .env, which the flask CLI and gunicorn.conf.py read (python-dotenv); it is not committed.
FLASK_APP=app
