"""Work in progress by age band: band edges, zero bands, suppression, band config."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import ConfigError, load_config
from pipeline.transforms.wip import age_in_days, measure_wip

AS_OF = pd.Timestamp("2026-11-26 23:59:59.999999")
BANDS = [(0, 7), (8, 28), (29, 90), (91, None)]


def _open(ages: list[pd.Timedelta], service: str = "Waste", category: str = "Missed bin") -> pd.DataFrame:
    return pd.DataFrame({"service": service, "category": category, "started_at": [AS_OF - a for a in ages]})


def _bands(frame: pd.DataFrame) -> dict[str, int]:
    return dict(zip(frame["age_band"], frame["open_journeys"]))


def test_age_is_whole_days_floored():
    started = pd.Series([AS_OF - pd.Timedelta(days=7, hours=23), AS_OF - pd.Timedelta(days=8), AS_OF])
    assert age_in_days(started, AS_OF).tolist() == [7, 8, 0]


@pytest.mark.parametrize("days, band", [
    (0, "0-7"), (7, "0-7"), (8, "8-28"), (28, "8-28"), (29, "29-90"), (90, "29-90"), (91, "91+"), (400, "91+"),
])
def test_band_edges(days, band):
    # an hour short of the next whole day is still `days` old
    out = measure_wip(_open([pd.Timedelta(days=days, hours=23)]), BANDS, AS_OF, threshold=1)
    assert _bands(out)[band] == 1 and sum(_bands(out).values()) == 1


def test_every_band_is_emitted_in_order_with_zeros_for_each_need_with_open_work():
    out = measure_wip(pd.concat([_open([pd.Timedelta(days=1)] * 6),
                                 _open([pd.Timedelta(days=100)] * 5, category="Fly-tipping")]),
                      BANDS, AS_OF, threshold=5)
    assert out["age_band"].tolist() == ["0-7", "8-28", "29-90", "91+"] * 2
    assert out.groupby("category")["open_journeys"].apply(list).to_dict() == {
        "Fly-tipping": [0, 0, 0, 5], "Missed bin": [6, 0, 0, 0]}
    assert (out["suppressed"] == "").all()


def test_small_band_counts_are_suppressed():
    out = measure_wip(_open([pd.Timedelta(days=1)] * 4 + [pd.Timedelta(days=10)] * 5), BANDS, AS_OF, threshold=5)
    row = out.set_index("age_band")
    assert row.loc["0-7", "open_journeys"] is pd.NA and row.loc["0-7", "suppressed"] == "open_journeys"
    assert row.loc["8-28", "open_journeys"] == 5 and row.loc["29-90", "open_journeys"] == 0


def test_no_open_journeys_gives_no_rows():
    assert measure_wip(_open([]), BANDS, AS_OF, threshold=5).empty


@pytest.mark.parametrize("bands, message", [
    ("[[1, 7], [8, null]]", "starts at 1; expected 0"),
    ("[[0, 7], [9, null]]", "starts at 9; expected 8"),
    ("[[0, 7], [8, 28]]", "last band must have no upper bound"),
    ("[[0, null], [8, null]]", "no upper bound but is not the last"),
    ("[[0, 7], [8, 5], [6, null]]", "ends at 5, before it starts at 8"),
    ("[]", "last band must have no upper bound"),
])
def test_band_config_must_cover_every_age_once(tmp_path, bands, message):
    f = tmp_path / "council.yaml"
    f.write_text(f"measures:\n  wip_age_bands: {bands}\n")
    with pytest.raises(ConfigError, match="measures.wip_age_bands") as err:
        load_config(f, environ={})
    assert message in str(err.value)
