"""A segment's rules through the builder's rows and back: what was stored comes back the same when saved again
(nested groups made through the API kept as they are), and typed values become the API's types."""
from __future__ import annotations

from crm_console import segment_rules as sr

STORED = {"any": [{"field": "country", "op": "in", "value": ["NZ", "AU"]},
                  {"field": "score", "op": "gte", "value": 40},
                  {"field": "consent", "channel": "email", "op": "eq", "value": "opted_in"},
                  {"field": "lead_status", "op": "is_set", "value": False},
                  {"behaviour": "clicked", "within_days": 30, "negate": True},
                  {"all": [{"field": "grade", "op": "eq", "value": "A"}, {"behaviour": "bought"}]}]}


def test_rules_made_elsewhere_come_back_unchanged_when_saved_from_the_builder():
    combine, rows, kept = sr.split(STORED)
    assert combine == "any" and len(rows) == 5 and kept == [STORED["any"][5]]
    assert rows[0]["value"] == "NZ, AU" and rows[4] == {"index": 4, "field": "behaviour:clicked", "op": "ne",
                                                         "value": "", "days": "30"}
    assert sr.tree(combine, sr.used_rows(rows), kept) == STORED


def test_typed_rows_become_the_apis_rules_and_blank_rows_are_left_out():
    form = {"rule-0-field": "industry", "rule-0-op": "eq", "rule-0-value": " Pumps ",
            "rule-1-field": "country", "rule-1-op": "eq", "rule-1-value": "",
            "rule-3-field": "behaviour:opened", "rule-3-op": "eq", "rule-3-days": "7",
            "rule-x-field": "ignored", "name": "not a rule"}
    rows = sr.used_rows(sr.rows_of_form(form))
    assert [r["index"] for r in rows] == [0, 3]
    assert sr.tree("all", rows, []) == {"all": [{"field": "industry", "op": "eq", "value": "Pumps"},
                                                {"behaviour": "opened", "within_days": 7}]}
    errors = sr.named({"rules.all.1.within_days": ["between 1 and 3650"], "name": ["required"]}, rows)
    assert errors == {"Rule 4 · within_days": ["between 1 and 3650"], "name": ["required"]}
