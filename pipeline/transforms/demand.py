"""Value and failure demand of each contact (journeys.md, "Demand").

The first contact of a journey is value demand: the request itself, whatever its wrap
code says. Every later contact is failure demand, of the first type that applies:

1. the failure type of the call's wrap code (``progress_chase``, ``repeat`` or
   ``complaint``, through ``journeys.wrap_code_demand``): what the person said it was;
2. ``not_done_right`` - the contact found the journey met (it pulls it back in);
3. ``repeat`` - a case (a duplicate, or a repeat case joined by rule 3);
4. ``progress_chase`` - any other call, made while the journey is open.

So a ``complaint`` call after the need was met counts as a complaint, and a plain
call after it as not done right. This is the order the generator's ground truth uses
(docs/journeys.md, "Choices"). A wrap code mapped to ``value`` (new_request) or to no
signal leaves a later call to 2-4.
"""

from __future__ import annotations

import pandas as pd


def classify_demand(contacts: pd.DataFrame, found_met: pd.Series) -> pd.DataFrame:
    """``contacts`` (sorted by journey and time, as ``journey_contacts`` returns them)
    with ``demand_type`` and ``failure_type``; ``found_met`` says, per contact, whether
    the journey was met just before it (``status.met_just_before``)."""
    first = ~contacts["journey_id"].duplicated()
    failure = pd.Series("progress_chase", index=contacts.index, dtype=object)
    failure = failure.mask(contacts["kind"] == "case", "repeat")
    failure = failure.mask(found_met.astype(bool), "not_done_right")
    failure = failure.mask(contacts["wrap_failure"].notna(), contacts["wrap_failure"])
    failure[first] = None
    demand = pd.Series("failure", index=contacts.index, dtype=object).mask(first, "value")
    return contacts.assign(demand_type=demand, failure_type=failure)
