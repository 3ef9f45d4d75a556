"""Build hook: the checkout keeps ``templates/``, ``translations/`` and ``migrations/``
beside ``survey/`` (the design card's layout); the wheel and sdist carry them *inside*
the package, as ``survey/templates``, ``survey/translations`` and ``survey/migrations``,
so an installed Stigen finds them without a checkout (``survey.resources`` looks in the
package first, then beside it). Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

# Top-level folder -> the package it becomes in the wheel.
SHIPPED = {
    "survey.templates": "templates",
    "survey.translations": "translations",
    "survey.migrations": "migrations",
}

setup(
    packages=[*find_packages(include=["survey", "survey.*"]), *SHIPPED],
    package_dir={"": ".", **SHIPPED},
    package_data={
        "survey": ["questionnaires/*.toml", "static/**/*", "data/*.txt"],
        "survey.templates": ["**/*.html", "**/*.txt", "**/*.svg", "**/*.xml"],
        # The compiled catalogues are committed (pybabel compile -d translations).
        "survey.translations": ["*/LC_MESSAGES/*.mo", "*/LC_MESSAGES/*.po"],
        "survey.migrations": ["alembic.ini", "script.py.mako", "README", "versions/*.py"],
    },
    exclude_package_data={"": ["__pycache__/*", "*.pyc"]},
)
