"""Incremental Write-Audit-Publish on DuckDB and PostgreSQL: only the night's changes are
written, audited (row by row on the inserted rows, keys and references on each table
as it would be after the swap) and swapped; the result and its hashes equal a full
publish of the same tables; a failure leaves the previous publication intact."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.config import load_config
from pipeline.errors import PublishError, ValidationFailed
from pipeline.validation.suites import REFERENCES, load_suite, published_suite_name
from pipeline.validation.validate import validate_delta
from pipeline.warehouse import publish as wap
from pipeline.warehouse.delta import TableDelta
from pipeline.warehouse.io import create_engine, read_frame
from pipeline.warehouse.tables import BUILD_OUTPUTS, PUBLISHED_TABLES, pipeline_run, validation_result

from testkit.warehouse import kill_inside_publish, published, published_hashes, wap_schemas

RULES = load_config(environ={}).validation


def run_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(read_frame(conn, pipeline_run)["run_id"])


def delta_between(old: pd.DataFrame, new: pd.DataFrame, name: str) -> TableDelta:
    """The keyed delta turning ``old`` into ``new``: rows that differ or went are
    deleted by key, rows that differ or appeared inserted."""
    table = PUBLISHED_TABLES[name]
    cols, keys = [c.name for c in table.columns], [c.name for c in table.primary_key.columns]
    both = old[cols].merge(new[cols], how="outer", indicator=True)
    return TableDelta(inserted=both.loc[both["_merge"] == "right_only", cols].reset_index(drop=True),
                      deleted=both.loc[both["_merge"] == "left_only", keys].reset_index(drop=True))


def deltas_between(old: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame],
                   whole: tuple[str, ...] = ("measure_capability", "measure_capability_point", "measure_wip")
                   ) -> dict[str, TableDelta]:
    return {name: TableDelta(inserted=new[name]) if name in whole else delta_between(old[name], new[name], name)
            for name in BUILD_OUTPUTS}


def audit(run_id: str, seen: dict | None = None):
    def check(inserted, after):
        if seen is not None:
            seen.update(inserted=inserted, after=after)
        return validate_delta(inserted, after, RULES, 5, run_id)
    return check


@pytest.fixture()
def first(engine, outputs, run_row) -> dict[str, str]:
    """Run 1: a full publish of the sample outputs."""
    return wap.publish(engine, outputs, None, run_row("run-1"))


def test_a_delta_publishes_what_a_full_publish_does(engine, first, outputs, outputs_v2, run_row, duckdb_url):
    journey = outputs_v2["journey"]
    outputs_v2["journey"] = pd.concat([journey, journey.iloc[:1].assign(journey_id="J-0007")], ignore_index=True)
    deltas = deltas_between(outputs, outputs_v2)
    # J-0003 changed (updated in place), J-0006 gone (deleted), J-0007 new (inserted)
    assert sorted(deltas["journey"].inserted["journey_id"]) == ["J-0003", "J-0007"]
    assert sorted(deltas["journey"].deleted["journey_id"]) == ["J-0003", "J-0006"]
    seen = {}
    hashes = wap.publish_delta(engine, deltas, audit("run-2", seen), run_row("run-2", mode="incremental"),
                               base_run_id="run-1", references=REFERENCES)
    assert hashes == published_hashes(engine) != first
    full = create_engine(duckdb_url.replace("warehouse.duckdb", "full.duckdb"))
    assert wap.publish(full, outputs_v2, None, run_row("full")) == hashes  # equal to a full publish's
    after = published(engine)
    assert sorted(after["journey"]["journey_id"]) == ["J-0001", "J-0002", "J-0003", "J-0004", "J-0005", "J-0007"]
    assert after["journey"].set_index("journey_id").loc["J-0003", "status"] == "met"
    assert seen["after"]["journey"].rows == 6 and len(seen["inserted"]["journey"]) == 2
    recorded = json.loads(read_frame(engine.connect(), pipeline_run, where="run_id = 'run-2'")["table_hashes"][0])
    assert recorded == hashes
    assert run_ids(engine) == ["run-1", "run-2"] and wap_schemas(engine) == []


def test_every_expectation_is_recorded_and_says_what_it_was_evaluated_on(engine, first, outputs, outputs_v2,
                                                                         run_row):
    wap.publish_delta(engine, deltas_between(outputs, outputs_v2), audit("run-2"), run_row("run-2"),
                      base_run_id="run-1", references=REFERENCES)
    with engine.connect() as conn:
        rows = read_frame(conn, validation_result, where="run_id = 'run-2'")
    for name in BUILD_OUTPUTS:
        suite = load_suite(published_suite_name(name), RULES.expectations_dir)
        mine = rows[rows["suite"] == suite.name]
        assert len(mine) == len(suite.expectations), name  # none dropped
        assert mine["success"].all()
    on = rows["details"].str.extract(r"\[on (.*)\]$")[0]
    assert set(on) == {"the rows this night inserts", "the table after the swap"}
    unique = rows.set_index(["suite", "expectation"]).loc[("published_journey",
                                                           "expect_column_values_to_be_unique(journey_id)")]
    assert unique["details"] == "checked 5 rows [on the table after the swap]"
    not_null = rows.set_index(["suite", "expectation"]).loc[("published_journey",
                                                             "expect_column_values_to_not_be_null(status)")]
    assert not_null["details"] == "checked 1 rows [on the rows this night inserts]"


def _refused(engine, deltas, run_row, first) -> list[dict]:
    """Publish ``deltas``, expect the audit to stop it, check nothing changed."""
    with pytest.raises(ValidationFailed) as err:
        wap.publish_delta(engine, deltas, audit("run-2"), run_row("run-2"), base_run_id="run-1",
                          references=REFERENCES)
    assert published_hashes(engine) == first
    assert run_ids(engine) == ["run-1"] and wap_schemas(engine) == []
    return [r for r in err.value.results if not r["success"]]


def test_a_key_inserted_again_beside_the_kept_row_stops_the_publish(engine, first, outputs, outputs_v2, run_row):
    deltas = deltas_between(outputs, outputs_v2)
    kept = outputs["journey"][outputs["journey"]["journey_id"] == "J-0001"].assign(contacts=9)
    deltas["journey"] = TableDelta(inserted=pd.concat([deltas["journey"].inserted, kept]),
                                   deleted=deltas["journey"].deleted)
    failed = _refused(engine, deltas, run_row, first)
    assert [(r["expectation"], r["unexpected_count"]) for r in failed] == [
        ("expect_column_values_to_be_unique(journey_id)", 2)]
    assert failed[0]["details"] == ("2 of 6 rows failed: journey_id is not unique "
                                    "[on the table after the swap]")


def test_a_key_repeated_within_the_inserted_rows_stops_the_publish(engine, first, outputs, outputs_v2, run_row):
    deltas = deltas_between(outputs, outputs_v2)
    events = deltas["journey_event"]
    twice = outputs_v2["journey_event"].iloc[:1]
    deltas["journey_event"] = TableDelta(inserted=pd.concat([events.inserted, twice, twice]),
                                         deleted=pd.concat([events.deleted, twice[["journey_id", "seq"]]]))
    failed = _refused(engine, deltas, run_row, first)
    assert [(r["expectation"], r["unexpected_count"]) for r in failed] == [
        ("expect_compound_columns_to_be_unique(journey_id, seq)", 2)]


def test_a_deleted_journey_whose_events_are_kept_stops_the_publish(engine, first, outputs, outputs_v2, run_row):
    deltas = deltas_between(outputs, outputs_v2)
    events = outputs["journey_event"]
    deltas["journey_event"] = TableDelta(inserted=events.iloc[0:0], deleted=events.iloc[0:0][["journey_id", "seq"]])
    failed = _refused(engine, deltas, run_row, first)
    gone = int((events["journey_id"] == "J-0006").sum())
    assert [(r["suite"], r["unexpected_count"]) for r in failed] == [("published_journey_event", gone)]
    assert failed[0]["expectation"] == "expect_column_values_to_be_in_set(journey_id_in_journey)"


def test_an_inserted_row_pointing_at_no_journey_stops_the_publish(engine, first, outputs, outputs_v2, run_row):
    deltas = deltas_between(outputs, outputs_v2)
    points = outputs_v2["measure_capability_point"].copy()
    points.loc[0, "journey_id"] = "J-0006"  # deleted tonight
    deltas["measure_capability_point"] = TableDelta(inserted=points)
    failed = _refused(engine, deltas, run_row, first)
    assert [(r["suite"], r["unexpected_count"]) for r in failed] == [("published_measure_capability_point", 1)]


def test_a_row_level_failure_in_the_inserted_rows_stops_the_publish(engine, first, outputs, outputs_v2, run_row):
    deltas = deltas_between(outputs, outputs_v2)
    deltas["journey"] = TableDelta(inserted=deltas["journey"].inserted.assign(status="lost"),
                                   deleted=deltas["journey"].deleted)
    failed = _refused(engine, deltas, run_row, first)
    assert [(r["expectation"], r["unexpected_count"]) for r in failed] == [
        ("expect_column_values_to_be_in_set(status)", 1)]
    assert failed[0]["details"].endswith("[on the rows this night inserts]")


def test_a_delta_built_on_a_publication_that_was_replaced_is_refused(engine, first, outputs, outputs_v2, run_row):
    second = wap.publish(engine, outputs_v2, None, run_row("run-2", started_at=pd.Timestamp("2026-11-28 02:30")))
    with pytest.raises(PublishError, match="built on the publication of run run-1, but run run-2 has published"):
        wap.publish_delta(engine, deltas_between(outputs, outputs_v2), None, run_row("run-3"), base_run_id="run-1")
    assert published_hashes(engine) == second and run_ids(engine) == ["run-1", "run-2"]
    assert wap_schemas(engine) == []


def test_a_hash_of_an_older_definition_is_made_again(engine, first, outputs, outputs_v2, run_row):
    with engine.begin() as conn:
        conn.execute(sa.update(pipeline_run).values(table_hashes=json.dumps({"journey": "9f0e" * 16})))
    hashes = wap.publish_delta(engine, deltas_between(outputs, outputs_v2), None, run_row("run-2"),
                               base_run_id="run-1")
    assert hashes == published_hashes(engine)


def test_kill_9_while_swapping_a_delta_leaves_the_old_publication(warehouse_url, outputs, outputs_v2, run_row,
                                                                   tmp_path):
    engine = create_engine(warehouse_url)
    first = wap.publish(engine, outputs, None, run_row("run-1"))
    engine.dispose()  # a DuckDB file has one writer process: let the child open it
    kill_inside_publish(warehouse_url, deltas_between(outputs, outputs_v2), run_row("run-2"),
                        "wap.publish_delta(create_engine(url), payload, None, run, base_run_id='run-1', "
                        "before_commit=hold)", tmp_path)

    engine = create_engine(warehouse_url)
    assert published_hashes(engine) == first and run_ids(engine) == ["run-1"]
    third = wap.publish_delta(engine, deltas_between(outputs, outputs_v2), None, run_row("run-3"),
                              base_run_id="run-1")
    assert published_hashes(engine) == third != first
    assert run_ids(engine) == ["run-1", "run-3"] and wap_schemas(engine) == []
    engine.dispose()
