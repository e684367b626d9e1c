"""The data dictionary is generated from the declarations and committed up to date."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql

from pipeline.dictionary import DICTIONARY_FILE, main, render_dictionary
from pipeline.warehouse.tables import PUBLISHED, metadata


def test_committed_dictionary_is_current():
    assert DICTIONARY_FILE.read_text(encoding="utf-8") == render_dictionary(), (
        "docs/data-dictionary.md is out of date: run `python -m pipeline.dictionary` and commit it")


def test_every_table_and_column_is_documented_with_type_and_nullability():
    text = render_dictionary()
    for table in metadata.tables.values():
        assert f"### `{table.schema}.{table.name}`" in text
        assert f"**Grain:** {table.info['grain']}." in text
        for column in table.columns:
            nullable = "yes" if column.nullable else "no"
            assert f"| `{column.name}` | {column.type.compile(dialect=postgresql.dialect())} | {nullable} |" in text


def test_published_come_first_and_restricted_are_marked():
    text = render_dictionary()
    published, restricted = text.split("## Restricted tables\n")
    for table in metadata.tables.values():
        heading = f"### `{table.schema}.{table.name}`"
        if table.schema == PUBLISHED:
            assert heading in published
        else:
            section = restricted.split(heading, 1)[1].split("### ", 1)[0]
            assert "**Restricted**: not readable by the analysts' role." in section
    assert "| `started_at` | TIMESTAMP WITHOUT TIME ZONE | no | First event of the journey, UTC. |" in text


def test_check_flags_a_stale_file_and_writing_fixes_it(tmp_path, capsys):
    out = tmp_path / "dictionary.md"
    assert main(["--out", str(out), "--check"]) == 1
    out.write_text("# stale\n")
    assert main(["--out", str(out), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--out", str(out)]) == 0
    assert main(["--out", str(out), "--check"]) == 0
