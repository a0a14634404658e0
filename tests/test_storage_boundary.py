"""Only `podsight/store/` speaks SQL: every other module asks the store's named questions.

Checked on the source itself, so a new query written in a stage, the web or the CLI fails here, with the
line to move into `store/`. A session may be passed around (its type is imported for annotations), and the
CLI parses a database URL; nothing else of SQLAlchemy is used outside the store. The LLM response cache is
a separate SQLite file of its own (`llm/cache.py`), not the store.
"""

from __future__ import annotations

import ast
from pathlib import Path

import podsight

PACKAGE = Path(podsight.__file__).parent
ALLOWED = {"sqlalchemy.orm": {"Session"}, "sqlalchemy.engine": {"make_url"}}
OWN_DATABASE = {"llm/cache.py"}


def _outside_the_store() -> list[Path]:
    return [path for path in sorted(PACKAGE.rglob("*.py"))
            if path.relative_to(PACKAGE).parts[0] != "store"
            and path.relative_to(PACKAGE).as_posix() not in OWN_DATABASE]


def _sql_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names
                      if a.name.split(".")[0] in {"sqlalchemy", "sqlite3", "psycopg"}]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {"sqlalchemy", "sqlite3", "psycopg"}:
            allowed = ALLOWED.get(node.module, set())
            found += [f"{path.name}:{node.lineno} from {node.module} import {a.name}" for a in node.names
                      if a.name not in allowed]
        elif _asks_a_session(node):
            found.append(f"{path.name}:{node.lineno} session.{node.func.attr}(...)")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("podsight.store.models"):
            found += [f"{path.name}:{node.lineno} from {node.module} import {a.name}" for a in node.names
                      if not a.name[0].isupper()]  # the row classes may be named in annotations
    return found


# What a session does with rows and statements; a caller may still flush what the store added.
QUERYING = {"execute", "scalar", "scalars", "get", "add", "add_all", "delete", "query", "merge"}


def _asks_a_session(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERYING
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "session")


def test_no_module_outside_the_store_builds_sql():
    offenders = [line for path in _outside_the_store() for line in _sql_imports(path)]
    assert offenders == [], "SQL outside podsight/store/: move these into a named store function"


def test_the_check_sees_a_query_where_one_is_written(tmp_path):
    stage = tmp_path / "stage.py"
    stage.write_text("from sqlalchemy import select\nfrom sqlalchemy.orm import Session\n"
                     "def feed(session, feed_id):\n    return session.get(Feed, feed_id)\n")
    assert _sql_imports(stage) == ["stage.py:1 from sqlalchemy import select", "stage.py:4 session.get(...)"]
