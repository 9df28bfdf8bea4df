from datetime import datetime, timezone

import pytest

from crm_automation.domain import conditions, schedule

CONTEXT = {"record": {"status": "new", "amount": "1200.50", "tags": ["vip"], "email": None, "country": "DE"},
           "previous": {"status": "open"}, "changed_fields": ["status"], "event": {"type": "sales.lead_updated.v1"}}


@pytest.mark.parametrize("condition, expected", [
    ({"field": "status", "op": "eq", "value": "new"}, True),
    ({"field": "record.status", "op": "ne", "value": "new"}, False),
    ({"field": "amount", "op": "gt", "value": 1000}, True),
    ({"field": "amount", "op": "lte", "value": "1200.5"}, True),
    ({"field": "country", "op": "in", "value": ["DE", "FR"]}, True),
    ({"field": "country", "op": "not_in", "value": ["DE"]}, False),
    ({"field": "tags", "op": "contains", "value": "vip"}, True),
    ({"field": "email", "op": "empty"}, True),
    ({"field": "status", "op": "changed"}, True),
    ({"field": "country", "op": "changed"}, False),
    ({"field": "previous.status", "op": "eq", "value": "open"}, True),
    ({"field": "event.type", "op": "eq", "value": "sales.lead_updated.v1"}, True),
])
def test_each_comparison(condition, expected):
    met, results = conditions.evaluate(condition, CONTEXT)
    assert met is expected
    assert results[0]["result"] is expected and results[0]["field"] == condition["field"]
    assert conditions.compiled(condition)(CONTEXT) == (met, results)  # what the intake runs, compiled once


@pytest.mark.parametrize("value", ["new", "NEW", "1200.50", "1200.5", 1200.5, None, "", ["new"]])
@pytest.mark.parametrize("field", ["status", "amount", "email", "missing", "tags", "record.status.deeper"])
@pytest.mark.parametrize("op", ["eq", "ne", "in", "gt", "contains", "empty", "unchanged"])
def test_compiled_conditions_give_what_evaluate_gives(op, field, value):
    if op == "in" and not isinstance(value, list):
        value = [value]
    tree = {"any": [{"all": [{"field": field, "op": op, "value": value}, {"field": "status", "op": "eq", "value": "new"}]},
                    {"field": field, "op": op, "value": value}]}
    assert conditions.compiled(tree)(CONTEXT) == conditions.evaluate(tree, CONTEXT)
    assert conditions.compiled(None)(CONTEXT) == conditions.evaluate(None, CONTEXT)
    for alone in ({"all": [{"field": field, "op": op, "value": value}]}, {"any": [{"field": field, "op": op,
                                                                                   "value": value}]}):
        met, results = conditions.compiled(alone)(CONTEXT)  # a list of one: the leaf's own result
        assert (met, results) == conditions.evaluate(alone, CONTEXT) and type(met) is bool


def test_all_and_any_nest_and_every_leaf_is_logged():
    tree = {"all": [{"field": "status", "op": "eq", "value": "new"},
                    {"any": [{"field": "country", "op": "eq", "value": "FR"}, {"field": "amount", "op": "gt", "value": 5}]}]}
    met, results = conditions.evaluate(tree, CONTEXT)
    assert met is True
    assert [r["result"] for r in results] == [True, False, True]
    assert results[1]["actual"] == "DE"


def test_malformed_conditions_name_the_place():
    assert "conditions.all.0.op" in conditions.errors({"all": [{"field": "x", "op": "like", "value": 1}]})
    assert "conditions.value" in conditions.errors({"field": "x", "op": "eq"})
    assert "conditions" in conditions.errors({"all": []})
    assert conditions.errors({"any": [{"field": "x", "op": "empty"}]}) == {}


def test_a_schedule_fires_next_in_its_time_zone():
    after = datetime(2026, 12, 4, 7, 30, tzinfo=timezone.utc)
    # 09:00 on weekdays in Berlin (UTC+1 in December) is 08:00 UTC
    assert schedule.next_fire("0 9 * * 1-5", "Europe/Berlin", after) == datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)
    # Friday 4 Dec after 08:00 UTC: the next weekday is Monday 7 Dec
    assert schedule.next_fire("0 9 * * 1-5", "Europe/Berlin", datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)) == \
        datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
    assert schedule.next_fire("*/15 * * * *", None, after) == datetime(2026, 12, 4, 7, 45, tzinfo=timezone.utc)


@pytest.mark.parametrize("bad", ["* * * *", "61 * * * *", "a * * * *", "*/0 * * * *"])
def test_a_bad_schedule_is_refused(bad):
    with pytest.raises(ValueError):
        schedule.parse(bad)
