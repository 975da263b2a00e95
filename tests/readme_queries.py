"""The SQL the README shows analysts, statement by statement, as they would paste it into a client."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from ingestion.paths import PROJECT_ROOT

SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.DOTALL)


def readme_sql_statements(readme: Path = PROJECT_ROOT / "README.md") -> list[str]:
    statements = []
    for block in SQL_BLOCK.findall(readme.read_text()):
        code = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("--"))
        statements += [statement.strip() for statement in code.split(";") if statement.strip()]
    return statements


def statements_without_rows(database: Path) -> list[str]:
    """The README statements that return nothing on this snapshot (an error fails the caller)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        return [statement for statement in readme_sql_statements() if not con.execute(statement).fetchall()]
    finally:
        con.close()
