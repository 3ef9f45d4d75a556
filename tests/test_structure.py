"""The package's layering, read from the source with ``ast`` (nothing is imported): a
``flask`` command, and a service module, never imports a view module. What the pages and
the commands both do lives in a service module beside them (``admin/office_service.py``,
``dashboard/note_service.py``, ``respond/service.py``, …), so a command runs the same
rule as the page without loading a page.

A view module is ``views.py``, ``*_views.py``, or any module that registers a route
(``@bp.get(…)``, ``@bp.route(…)``, ``add_url_rule``): found from the code, not from a list,
so a new page module is covered the day it is written. A command module is a file named
``*commands*.py``, or ``survey/cli.py``. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "survey"
ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(root: Path = PACKAGE) -> dict[str, tuple[Path, ast.Module]]:
    """Every module under ``root``: its dotted name, file and syntax tree."""
    return {
        module_name(path, root): (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for path in sorted(root.rglob("*.py"))
    }


def registers_routes(tree: ast.Module) -> bool:
    """Whether the module adds a URL rule: a ``@x.route(…)``/``@x.get(…)``/… decorator
    on a function, or an ``add_url_rule`` call."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr in ROUTE_DECORATORS
                ):
                    return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_url_rule"
        ):
            return True
    return False


def is_view(path: Path, tree: ast.Module) -> bool:
    return path.name == "views.py" or path.name.endswith("_views.py") or registers_routes(tree)


def is_command(name: str, path: Path) -> bool:
    return "commands" in path.name or name.endswith(".cli")


def is_service(name: str, path: Path) -> bool:
    return path.stem == "service" or path.stem.endswith("_service")


def imported(name: str, path: Path, tree: ast.Module, known: set[str]) -> set[str]:
    """The modules of the package that ``name`` imports, anywhere in it. ``from a import
    b`` counts as importing ``a.b`` when that is a module, else ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                child = f"{module}.{alias.name}"
                found.add(child if child in known else module)
    return found & known


def violations(root: Path = PACKAGE, importer=is_command) -> list[str]:
    """Each "module imports view" among the modules that ``importer`` picks."""
    modules = sources(root)
    known = set(modules)
    views = {name for name, (path, tree) in modules.items() if is_view(path, tree)}
    return sorted(
        f"{name} imports {view}"
        for name, (path, tree) in modules.items()
        if importer(name, path)
        for view in imported(name, path, tree, known) & views
    )


def test_no_command_imports_a_view():
    assert violations() == []


def test_no_service_imports_a_view():
    assert violations(importer=is_service) == []


def test_the_rule_sees_the_modules_it_is_about():
    """The detection finds the page modules that have no "views" in their name, and the
    commands and services, so the two tests above are not vacuously true."""
    modules = sources()
    views = {name for name, (path, tree) in modules.items() if is_view(path, tree)}
    commands = {name for name, (path, _tree) in modules.items() if is_command(name, path)}
    services = {name for name, (path, _tree) in modules.items() if is_service(name, path)}
    assert {
        "survey.admin.offices",
        "survey.admin.codes",
        "survey.admin.moderation",
        "survey.admin.questionnaires",
        "survey.dashboard.notes",
        "survey.dashboard.views",
        "survey.respond.views",
    } <= views
    assert {
        "survey.admin.office_service",
        "survey.admin.office_forms",
        "survey.admin.posters",
        "survey.dashboard.note_service",
        "survey.office_lookup",
    }.isdisjoint(views)
    assert {
        "survey.admin.office_commands",
        "survey.admin.code_commands",
        "survey.admin.moderation_commands",
        "survey.admin.questionnaire_commands",
        "survey.dashboard.note_commands",
        "survey.cli",
    } <= commands
    assert {
        "survey.admin.office_service",
        "survey.admin.code_service",
        "survey.admin.moderation_service",
        "survey.admin.questionnaire_service",
        "survey.dashboard.note_service",
    } <= services


@pytest.mark.parametrize(
    "statement",
    [
        "from .pages import decide",
        "from . import pages",
        "from ..shop import pages",
        "import survey.shop.pages",
        "def run():\n    from .pages import decide\n",
        "from .routes_here import x",
    ],
)
def test_a_command_importing_a_page_is_caught(tmp_path, statement):
    """The checker on a made-up package: a command that reaches a page module in any of
    the ways Python allows is reported; one that imports the service is not."""
    shop = tmp_path / "survey" / "shop"
    shop.mkdir(parents=True)
    (tmp_path / "survey" / "__init__.py").write_text("")
    (shop / "__init__.py").write_text(
        "from flask import Blueprint\nbp = Blueprint('shop', __name__)\n"
    )
    (shop / "pages.py").write_text(
        "from . import bp\n\n@bp.get('/')\ndef index():\n    return ''\n"
    )
    (shop / "routes_here.py").write_text(
        "x = 1\ndef setup(app):\n    app.add_url_rule('/', 'i', lambda: '')\n"
    )
    (shop / "service.py").write_text("def decide():\n    return 1\n")
    (shop / "shop_commands.py").write_text("from .service import decide\n")
    assert violations(tmp_path / "survey") == []
    (shop / "shop_commands.py").write_text(statement + "\n")
    assert len(violations(tmp_path / "survey")) == 1


def test_a_features_commands_hang_on_its_blueprints_cli(app):
    """Each feature registers its ``flask`` commands on its blueprint's ``cli``
    (top-level all the same: ``cli_group=None``), not in the app factory."""
    from survey import admin, auth, dashboard, export

    for feature in (admin, auth, dashboard, export):
        own = {
            name
            for name, command in app.cli.commands.items()
            if command.callback.__module__.startswith(feature.__name__ + ".")
        }
        assert own, feature.__name__
        assert own <= set(feature.bp.cli.commands), feature.__name__
        assert feature.bp.cli_group is None
