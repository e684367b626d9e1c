"""The identity stage end to end with the shipped model: one scenario per rule or guard."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from pipeline.config import ConfigError
from pipeline.warehouse import io, tables

SMITH_HOUSE = {"surname": "Smith", "address_line1": "12 Mill Lane", "postcode": "ZX1 2AB", "uprn": "90000000012",
               "phone": "+441632960412"}  # shared household landline


def test_nickname_variants_of_one_person_link(kit):
    result = kit.resolve([
        {"case_id": "C1", "customer_id": "CU1", "forename": "William", "surname": "Jones",
         "address_line1": "4 High Street", "postcode": "ZX2 4CD", "phone": "+447700900501"},
        {"case_id": "C2", "customer_id": "CU2", "forename": "BILL", "surname": "Jones",
         "address_line1": "4 High St", "postcode": "ZX2 4CD", "phone": "+447700900501"},
    ])
    assert kit.same_person(result, "C1", "C2")


def test_household_members_stay_apart(kit):
    """Same surname, address, UPRN and landline; different forename or date of birth."""
    result = kit.resolve([
        {"case_id": "H1", "customer_id": "CU1", "forename": "John", **SMITH_HOUSE},
        {"case_id": "H2", "customer_id": "CU2", "forename": "Mary", **SMITH_HOUSE},
        {"case_id": "H3", "customer_id": "CU3", "forename": "John", "date_of_birth": "1950-02-01", **SMITH_HOUSE},
        {"case_id": "H4", "customer_id": "CU4", "forename": "John", "date_of_birth": "1985-07-30", **SMITH_HOUSE},
        {"case_id": "H5", "customer_id": "CU5", "forename": None, **SMITH_HOUSE},  # unnamed: household evidence only
    ])
    assert len({kit.person_of(result, c) for c in ("H2", "H3", "H4", "H5")}) == 4
    assert not kit.same_person(result, "H1", "H2")
    assert result.report["pairs_vetoed_household"] > 0


def test_the_same_household_member_twice_links(kit):
    result = kit.resolve([
        {"case_id": "H1", "customer_id": "CU1", "forename": "Mary", **SMITH_HOUSE},
        {"case_id": "H2", "customer_id": "CU2", "forename": "Mary", "email": "mary.s@example.com", **SMITH_HOUSE},
        {"case_id": "H3", "customer_id": "CU3", "forename": "John", **SMITH_HOUSE},
    ])
    assert kit.same_person(result, "H1", "H2")
    assert not kit.same_person(result, "H1", "H3")


@pytest.mark.parametrize("number", ["+441632960000", "+441632960999"])
def test_blocked_numbers_never_link(kit, number):
    """Two people whose only shared detail is the switchboard number stay apart; the
    same pair with a real shared mobile would link (the control)."""
    people = [{"case_id": "B1", "customer_id": "CU1", "forename": "Alex", "surname": "Rowe", "phone": number},
              {"case_id": "B2", "customer_id": "CU2", "forename": "Alex", "surname": "Rowe", "phone": number}]
    assert not kit.same_person(kit.resolve(people), "B1", "B2")
    assert kit.same_person(kit.resolve(people, blocked_numbers=[]), "B1", "B2")


def test_missing_details_never_link(kit):
    """Anonymous reports (no details at all) are a person each."""
    result = kit.resolve([{"case_id": "A1"}, {"case_id": "A2"}, {"case_id": "A3"}])
    assert len({kit.person_of(result, c) for c in ("A1", "A2", "A3")}) == 3


def test_hard_links_on_customer_id_and_email(kit):
    result = kit.resolve([
        {"case_id": "K1", "customer_id": "CU77", "forename": "Sam", "surname": "Hart"},
        {"case_id": "K2", "customer_id": "CU77", "forename": "Priya", "surname": "Desai"},  # CRM says same contact
        {"case_id": "K3", "email": "p.desai@example.net", "forename": "P", "surname": "Desai"},
        {"case_id": "K4", "customer_id": "CU78", "email": "p.desai@example.net"},
    ])
    assert kit.same_person(result, "K1", "K2")
    assert kit.same_person(result, "K3", "K4")
    assert result.report["hard_links"] == {"customer_id": 1, "email": 1}


def test_oversize_cluster_is_not_merged_but_split_by_hard_links_and_reported(kit):
    """Five records of one name at one address chain into a cluster over the limit."""
    chain = [{"case_id": f"O{i}", "customer_id": f"CUO{i}", "forename": "Chris", "surname": "Taylor",
              "address_line1": "1 Care Home Road", "postcode": "ZX9 9ZZ", "uprn": "90000000999"} for i in range(5)]
    chain[1].update(customer_id="CUO0", email="chris.t@example.org")  # O0 and O1: one CRM contact
    result = kit.resolve(chain, max_cluster_size=3)
    assert kit.same_person(result, "O0", "O1")
    assert len({kit.person_of(result, f"O{i}") for i in range(5)}) == 4
    assert result.report["oversize_clusters"] == 1
    assert result.report["oversize_cluster_detail"] == [{"records": 5, "first_case_id": "O0"}]
    assert kit.same_person(kit.resolve(chain), *[f"O{i}" for i in range(5)])  # within the default limit


def test_every_case_and_call_leg_is_covered_and_nothing_personal_leaves(kit):
    cases = [{"case_id": "P1", "customer_id": "CU1", "forename": "Ada", "surname": "Quill",
              "email": "ada.quill@example.com", "phone": "+447700900777", "address_line1": "3 Quay Street",
              "postcode": "ZX3 3QQ", "uprn": "90000000333", "date_of_birth": "1970-01-02"}]
    calls = kit.calls({"call_id": "L1", "caller_number": "+447700900777"}, {"call_id": "L2", "case_ref": "P1"})
    result = kit.resolve(cases, calls)
    assert set(result.person_record["case_id"]) == {"P1", *(f"BG{i:03d}" for i in range(30))}
    assert list(result.call_attribution["call_id"]) == ["L1", "L2"]
    personal = {"Ada", "ada", "Quill", "quill", "ada.quill@example.com", "+447700900777", "3 Quay Street",
                "ZX3 3QQ", "90000000333", "1970-01-02"}
    outputs = [result.person_record, result.person, result.call_attribution, result.identity_audit]
    values = {str(v) for frame in outputs for v in frame.to_numpy().ravel()} | {str(result.report)}
    assert not any(p in v for p in personal for v in values)


def test_outputs_fit_the_restricted_tables(kit, warehouse_url):
    result = kit.resolve([{"case_id": "W1", "forename": "Ola", "surname": "Nord", "phone": "+447700900321"}],
                         kit.calls({"call_id": "L1", "caller_number": "+447700900321"}))
    engine = io.create_engine(warehouse_url)
    names = ("person_record", "person", "call_attribution", "identity_audit", "link_record", "link_pair")
    with engine.begin() as conn:
        io.create_tables(conn, [getattr(tables, name) for name in names])
        for name in names:
            assert io.write_frame(conn, getattr(tables, name), getattr(result, name)) == len(getattr(result, name))
    with engine.connect() as conn:
        back = io.read_frame(conn, tables.call_attribution)
        assert back.loc[0, "method"] == "phone"
        assert conn.execute(sa.text("SELECT count(*) FROM identity.person")).scalar() == 31
        # the pair cache comes back to the last bit: tomorrow's decisions compare these floats
        pd.testing.assert_frame_equal(io.read_frame(conn, tables.link_record), result.link_record,
                                      check_dtype=False, check_exact=True)  # DuckDB reads INTEGER as int32
        pd.testing.assert_frame_equal(io.read_frame(conn, tables.link_pair), result.link_pair, check_exact=True)
    engine.dispose()


def test_an_empty_secret_stops_the_run_before_any_work(kit):
    with pytest.raises(ConfigError, match="JOURNEYS_HMAC_SECRET"):
        kit.resolve([{"case_id": "S1"}], secret="")


def test_a_missing_model_is_a_configuration_error(kit, tmp_path):
    with pytest.raises(ConfigError, match="no trained model"):
        kit.resolve([{"case_id": "S1"}], model_path=tmp_path / "absent.json")


def test_no_cases_and_no_calls(kit):
    result = kit.resolve([], with_background=False)
    assert result.person_record.empty and result.person.empty and result.call_attribution.empty
    assert list(result.identity_audit.columns) == ["run_id", "old_person_id", "new_person_id", "change", "reason"]
    assert isinstance(result.report["model_version"], str)
    assert pd.api.types.is_object_dtype(result.person["person_id"])
