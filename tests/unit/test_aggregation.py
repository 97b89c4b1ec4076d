"""Request bodies and keyset filters."""

from tap_pendo.pendo import aggregation as agg


def test_literals_escape_quotes_and_backslashes_once():
    assert agg.literal('a"b\\c') == '"a\\"b\\\\c"'
    assert agg.literal(None) == "null"
    assert agg.literal(True) == "true"
    assert agg.literal(-323232) == "-323232"


def test_after_is_lexicographic_over_the_order():
    expression = agg.after(["day", "visitorId"], [5, "v"])
    assert expression == '(day > 5) || ((day == 5) && (visitorId > "v"))'


def test_after_a_null_position_passes_nulls_by_not_null():
    expression = agg.after(["metadata.auto.lastupdated", "accountId"], [None, "a"])
    assert expression == (
        "(metadata.auto.lastupdated != null) || "
        '((metadata.auto.lastupdated == null) && (accountId > "a"))'
    )


def test_app_id_param_forms():
    assert agg.app_id_param(()) == 'expandAppIds("*")'
    assert agg.app_id_param((5,)) == 5
    assert agg.app_id_param((5, -323232)) == [5, -323232]


def test_keyset_page_filters_before_sorting_and_limits():
    source = agg.source_step("features", {"appId": 5})
    pipeline = agg.keyset_page(source, "x == 1", ["lastUpdatedAt", "id"], [3, "f"], 10)
    assert [next(iter(step)) for step in pipeline] == ["source", "filter", "sort", "limit"]
    assert pipeline[1]["filter"].startswith("(x == 1) && (")
    assert pipeline[-1] == {"limit": 10}
