"""generate_council: reproducible output, safe folders, clear errors, summary = files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.generate import DEFAULT_END, generate_council
from pipeline.sources import SOURCES


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_the_same_bytes(tmp_path: Path):
    generate_council(tmp_path / "a", people=60, days=45, seed=3)
    generate_council(tmp_path / "b", people=60, days=45, seed=3)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []


def test_another_seed_gives_another_council(tmp_path: Path):
    generate_council(tmp_path / "a", people=60, days=45, seed=3)
    generate_council(tmp_path / "b", people=60, days=45, seed=4)
    assert (tmp_path / "a/truth/records.csv").read_bytes() != (tmp_path / "b/truth/records.csv").read_bytes()


def test_default_end_is_fixed_and_window_ends_there(tmp_path: Path):
    summary = generate_council(tmp_path, people=5, days=10, seed=1)
    assert summary.end == DEFAULT_END
    days = sorted(p.stem for p in (summary.landing_dir / "crm_cases").glob("????-??-??.csv"))
    assert days[0] == (DEFAULT_END - dt.timedelta(days=9)).isoformat() and days[-1] == DEFAULT_END.isoformat()


def test_every_source_has_one_file_per_day_and_redeliveries_are_identical(tmp_path: Path):
    summary = generate_council(tmp_path, people=40, days=60, seed=9)
    for source in SOURCES:
        days = [p for p in (summary.landing_dir / source).glob("*.csv") if "redelivered" not in p.name]
        assert len(days) == 60
    assert summary.redelivered
    for name in summary.redelivered:
        copy = summary.landing_dir / name
        original = copy.with_name(copy.name.replace("-redelivered", ""))
        assert copy.read_bytes() == original.read_bytes()


def test_summary_and_meta_match_the_files(tmp_path: Path):
    summary = generate_council(tmp_path, people=40, days=30, seed=2, end=dt.date(2026, 6, 30))
    for source, count in summary.row_counts.items():
        written = sum(len(p.read_text(encoding="utf-8").splitlines()) - 1
                      for p in (summary.landing_dir / source).glob("*.csv") if "redelivered" not in p.name)
        assert written == count
    meta = json.loads((summary.truth_dir / "meta.json").read_text())
    assert {k: meta[k] for k in ("seed", "people", "days", "end")} == {
        "seed": 2, "people": 40, "days": 30, "end": "2026-06-30"}
    assert meta["counts"]["rows"] == summary.row_counts
    assert meta["as_of_utc"] == "2026-06-30 22:59:59"  # end of the day in BST
    assert sum(meta["counts"]["journeys"].values()) == summary.journeys


def test_a_rerun_replaces_the_previous_output(tmp_path: Path):
    generate_council(tmp_path, people=20, days=20, seed=1)
    summary = generate_council(tmp_path, people=20, days=5, seed=1)
    assert len(list((summary.landing_dir / "crm_cases").glob("????-??-??.csv"))) == 5


def test_refuses_a_folder_it_did_not_write(tmp_path: Path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "keep.txt").write_text("someone's file")
    with pytest.raises(FileExistsError, match="landing"):
        generate_council(tmp_path, people=5, days=5, seed=1)
    assert (tmp_path / "landing" / "keep.txt").exists()


@pytest.mark.parametrize("kwargs, name", [
    ({"people": 0, "days": 5, "seed": 1}, "people"),
    ({"people": 5, "days": 0, "seed": 1}, "days"),
    ({"people": 5, "days": 5, "seed": -1}, "seed"),
    ({"people": 5.5, "days": 5, "seed": 1}, "people"),
])
def test_bad_arguments_name_the_argument(tmp_path: Path, kwargs: dict, name: str):
    with pytest.raises(ValueError, match=name):
        generate_council(tmp_path, **kwargs)
    assert not (tmp_path / "landing").exists()
