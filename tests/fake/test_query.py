"""The fake's aggregation engine: filter language, sort, steps, timeSeries, validation."""

import pytest

from tests.fake_pendo.periods import add_periods
from tests.fake_pendo.query import (
    EVERY_APP,
    Compare,
    FilterSyntaxError,
    Literal,
    Logic,
    Not,
    Path,
    QueryError,
    compare,
    compile_filter,
    parse_filter,
    parse_request,
    request_time_series,
    resolve_time_series,
    sort_rows,
    source_predicate,
)

NY = "America/New_York"
HOUR = 3_600_000
DEFAULT_APP = -323232
NOW = 1_700_000_000_000


def matches(expr, row):
    return compile_filter(expr)(row)


def request(*pipeline):
    return {"response": {"mimeType": "application/json"}, "request": {"pipeline": list(pipeline)}}


def run(rows, *steps):
    """Run steps over rows behind an `accounts` source."""
    query = parse_request(
        request({"source": {"accounts": None}}, *steps), tz=NY, now_ms=NOW, default_app=1
    )
    return list(query.run(rows))


def escape(text):
    """A string literal of the filter language."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---- filter: parsing --------------------------------------------------------


def test_and_binds_tighter_than_or():
    tree = parse_filter("a == 1 || b == 2 && c == 3")
    a, b, c = (Compare("==", Path((n,)), Literal(v)) for n, v in (("a", 1), ("b", 2), ("c", 3)))
    assert tree == Logic("||", a, Logic("&&", b, c))
    assert matches("a == 1 || b == 2 && c == 3", {"a": 1})
    assert not matches("a == 1 || b == 2 && c == 3", {"b": 2})
    assert not matches("(a == 1 || b == 2) && c == 3", {"a": 1})


def test_not_binds_tighter_than_comparison():
    assert parse_filter("!flag == false") == Compare("==", Not(Path(("flag",))), Literal(False))
    assert matches("!flag == false", {"flag": True})
    assert matches("!(a == 1 || a == 2)", {"a": 3})
    assert not matches("!!(a == 1)", {"a": 2})


def test_a_bare_value_holds_only_when_true():
    assert matches("flag", {"flag": True})
    assert not matches("flag", {"flag": 1})
    assert matches("!flag", {})
    assert matches("true && !false", {})


def test_string_escapes_and_unicode():
    name = 'say "hi" \\ o/ Zoë'
    assert matches(f"name == {escape(name)}", {"name": name})
    assert parse_filter(r'x == "a\"b\\c"').right == Literal('a"b\\c')
    assert not matches(f"name == {escape(name)}", {"name": name + " "})


@pytest.mark.parametrize(
    "expr, row",
    [
        ("appId == -323232", {"appId": -323232}),
        ("x > -1.5 && x < -1.25", {"x": -1.4}),
        ("x == 1e3", {"x": 1000}),
        ("x == .5", {"x": 0.5}),
        ("metadata.auto.lastupdated >= 5", {"metadata": {"auto": {"lastupdated": 5}}}),
        (
            "metadata.auto__-323232.lastvisit == 1",
            {"metadata": {"auto__-323232": {"lastvisit": 1}}},
        ),
        ("x==-1&&y!=2", {"x": -1, "y": 3}),
        ("  ( ( x == 1 ) )  ", {"x": 1}),
    ],
)
def test_literals_and_paths(expr, row):
    assert matches(expr, row)


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "   ",
        "a ==",
        "== 1",
        "a = 1",
        "a & b",
        "a | b",
        '"unterminated',
        r'x == "\n"',
        "a == 1 == 2",
        "(a == 1",
        "a == 1)",
        "a b",
        "&& a",
        "a ! b",
        "5abc == 1",
        "x == 'single'",
        "()",
        "a.",
        "x == --1",
    ],
)
def test_malformed_expressions(expr):
    with pytest.raises(FilterSyntaxError) as caught:
        compile_filter(expr)
    assert str(caught.value) == "Cannot parse filter expression"


def test_a_filter_that_is_not_a_string_is_malformed():
    with pytest.raises(QueryError, match="Cannot parse filter expression"):
        run([], {"filter": 5})


# ---- filter: semantics -------------------------------------------------------


@pytest.mark.parametrize("row", [{}, {"x": None}, {"x": {}}, {"x": {"y": None}}, {"x": 5}])
def test_missing_or_null_fails_every_comparison_but_null_checks(row):
    for op in ("==", "!=", "<", "<=", ">", ">="):
        assert not matches(f"x.y {op} 5", row)
        assert not matches(f'x.y {op} "5"', row)
        assert not matches(f"x.y {op} other", row)
    assert matches("x.y == null", row)
    assert not matches("x.y != null", row)
    assert not matches("x.y < null", row)


def test_values_of_different_types_never_equal_nor_ordered():
    assert not matches("x == 10", {"x": "10"})
    assert matches("x != 10", {"x": "10"})
    assert not matches("x < 20", {"x": "10"})
    assert not matches("x == 1", {"x": True})
    assert not matches("x >= 0", {"x": False})
    assert not matches("x == true", {"x": 1})
    assert not matches("x > 1", {"x": [2]})
    assert matches("x != null", {"x": 0})


def test_numbers_compare_numerically_and_strings_by_code_point():
    assert matches("x == 5", {"x": 5.0})
    assert matches("x < 10", {"x": 9.5})
    assert matches('x < "a"', {"x": "Z"})
    assert matches('x > "z"', {"x": "é"})
    assert matches('x < "b"', {"x": "ab"})


def test_fields_against_fields_and_literals_on_the_left():
    assert matches("a == b", {"a": "q", "b": "q"})
    assert not matches("a == b", {})
    assert not matches("a != b", {"a": 1})
    assert matches("5 < x", {"x": 6})
    assert matches('"m" >= x', {"x": "a"})
    assert matches("null == x", {})
    assert matches("1 == 1 && null == null && 1 != 2", {})


def test_inlined_comparisons_agree_with_the_reference():
    values = [None, True, False, -1, 0, 2.5, 10, "", "10", "a", "é", [1], {"k": 1}]
    literals = ["true", "false", "-1", "0", "2.5", "10", '""', '"10"', '"a"', '"é"']
    for op in ("==", "!=", "<", "<=", ">", ">="):
        for literal in literals:
            predicate = compile_filter(f"x {op} {literal}")
            expected = parse_filter(literal).value
            for value in values:
                assert predicate({"x": value}) == compare(op, value, expected), (op, literal, value)


# ---- sort ----------------------------------------------------------------------


def test_multi_key_sort_with_nulls_first_and_descending_fields():
    rows = [
        {"id": 1, "a": 2, "b": "x"},
        {"id": 2, "b": "y"},
        {"id": 3, "a": 1, "b": None},
        {"id": 4, "a": 2, "b": "z"},
        {"id": 5, "a": None, "b": "w"},
        {"id": 6, "a": 1, "b": "y"},
    ]
    assert [r["id"] for r in sort_rows(rows, ["a", "-b"])] == [2, 5, 3, 6, 4, 1]
    assert [r["id"] for r in sort_rows(rows, ["-a", "b"])] == [5, 2, 1, 4, 3, 6]


def test_sort_is_stable_and_reads_dotted_paths():
    rows = [{"n": i, "m": {"k": i % 2}} for i in range(6)]
    assert [r["n"] for r in sort_rows(rows, ["m.k"])] == [0, 2, 4, 1, 3, 5]
    assert [r["n"] for r in sort_rows(rows, ["-m.k"])] == [1, 3, 5, 0, 2, 4]
    assert rows[0]["n"] == 0  # the input is left alone


def test_mixed_types_sort_deterministically():
    values = ["b", 2, True, None, {"x": 1}, 1.5, "a", False]
    rows = [{"v": v} for v in values]
    assert [r["v"] for r in sort_rows(rows, ["v"])] == [
        None,
        False,
        True,
        1.5,
        2,
        "a",
        "b",
        {"x": 1},
    ]
    assert [r["v"] for r in sort_rows(rows, ["-v"])] == [
        None,
        {"x": 1},
        "b",
        "a",
        2,
        1.5,
        True,
        False,
    ]


# ---- keyset paging -----------------------------------------------------------------


def test_keyset_paging_over_ties_returns_every_row_once():
    tricky = ['q"uote', "back\\slash", "sl/ash", "sp ace", "at@x", "Zoë", "日本"]
    rows = [{"id": f"{tricky[i % len(tricky)]}-{i:04d}", "rk": i % 3} for i in range(500)]
    rows.append({"id": "no-rk"})  # a missing key sorts first and is read on the first page
    page_size, seen, last = 7, [], None
    while True:
        steps = [{"sort": ["rk", "id"]}, {"limit": page_size}]
        if last is not None:
            rk, key = last.get("rk"), escape(last["id"])
            expr = f"rk > {rk} || (rk == {rk} && id > {key})"
            if rk is None:
                expr = f"rk != null || id > {key}"
            steps.insert(0, {"filter": expr})
        page = run(rows, *steps)
        seen += [r["id"] for r in page]
        if len(page) < page_size:
            break
        last = page[-1]
    assert len(seen) == len(rows)
    assert sorted(seen) == sorted(r["id"] for r in rows)


# ---- steps ------------------------------------------------------------------------


ROWS = [
    {"visitorId": "v1", "n": 3, "meta": {"email": "a@x"}},
    {"visitorId": "_PENDO_T_abc", "n": 1},
    {"visitorId": "v2", "n": 2},
    {"n": 4},
]


def test_limit_count_select_identified():
    assert run(ROWS, {"limit": 2}) == ROWS[:2]
    assert run(ROWS, {"limit": 0}) == []
    assert run(ROWS, {"count": None}) == [{"count": 4}]
    assert run(ROWS, {"filter": "n > 1"}, {"count": None}) == [{"count": 3}]
    assert run(ROWS[:1], {"select": {"who": "visitorId", "mail": "meta.email", "x": "nope"}}) == [
        {"who": "v1", "mail": "a@x"}
    ]
    assert [r["n"] for r in run(ROWS, {"identified": "visitorId"})] == [3, 2]
    assert [r["n"] for r in run(ROWS, {"identified": "!visitorId"})] == [1]


def test_steps_run_in_order():
    assert run(ROWS, {"sort": ["-n"]}, {"limit": 2}, {"select": {"n": "n"}}) == [{"n": 4}, {"n": 3}]
    assert run(ROWS, {"limit": 2}, {"sort": ["-n"]}, {"select": {"n": "n"}}) == [{"n": 3}, {"n": 1}]


@pytest.mark.parametrize("step", ["skip", "group", "unwind", "source", "merge"])
def test_unknown_steps(step):
    with pytest.raises(QueryError) as caught:
        run(ROWS, {step: 1})
    assert str(caught.value) == f"unknown step type '{step}'"


@pytest.mark.parametrize(
    "step",
    [
        {"limit": -1},
        {"limit": "5"},
        {"limit": True},
        {"sort": []},
        {"sort": "n"},
        {"sort": ["-"]},
        {"count": {}},
        {"select": {"a": 1}},
        {"identified": "!"},
        {"filter": "n > 1", "limit": 1},
    ],
)
def test_bad_step_arguments(step):
    with pytest.raises(QueryError):
        run(ROWS, step)


# ---- timeSeries -----------------------------------------------------------------------


def starts(spec, tz=NY, now=NOW):
    return resolve_time_series(spec, tz, now).starts()


def test_a_day_follows_the_subscription_time_zone():
    day = 1_543_726_800_000  # 2 Dec 2018 in New York, 05:00 UTC
    assert starts({"period": "dayRange", "first": day + 10 * HOUR, "count": 1}) == [day]
    assert starts({"period": "dayRange", "first": str(day + 23 * HOUR), "count": 1}) == [day]
    assert starts({"period": "dayRange", "first": day + 10 * HOUR, "count": 1}, tz="UTC") == [
        day - 5 * HOUR
    ]


def test_days_across_dst_changes_in_new_york():
    nov4 = 1_699_070_400_000  # 4 Nov 2023 00:00 EDT; 5 Nov has 25 hours
    got = starts({"period": "dayRange", "first": nov4 + 12 * HOUR, "count": 3})
    assert got == [nov4, nov4 + 24 * HOUR, nov4 + 49 * HOUR]
    mar11 = 1_710_129_600_000  # 11 Mar 2024 00:00 EDT; 10 Mar had 23 hours
    got = starts({"period": "dayRange", "first": mar11 - HOUR, "count": 2})
    assert got == [mar11 - 23 * HOUR, mar11]
    got = starts({"period": "dayRange", "first": mar11, "count": -2})
    assert got == [mar11 - 47 * HOUR, mar11 - 23 * HOUR]


def test_hours_start_on_whole_utc_hours_in_any_zone():
    first = 1_700_000_000_000  # 22:13:20 UTC, 03:43:20 in Kolkata
    got = starts({"period": "hourRange", "first": first, "count": 2}, tz="Asia/Kolkata")
    assert got == [first - first % HOUR, first - first % HOUR + HOUR]


def test_last_is_exclusive_and_first_is_rounded_down():
    day = 1_543_726_800_000
    spec = {"period": "dayRange", "first": day + 1, "last": day + 24 * HOUR}
    assert starts(spec) == [day]
    spec["last"] = day + 24 * HOUR + 1
    assert starts(spec) == [day, day + 24 * HOUR]
    spec["last"] = day
    assert starts(spec) == []


def test_now_and_counts():
    now_day = resolve_time_series({"period": "dayRange", "first": "now()", "count": 1}, NY, NOW)
    assert now_day.starts() == [1_699_938_000_000]  # 14 Nov 2023 00:00 EST
    assert starts({"period": "hourRange", "first": "now()", "count": 0}) == []
    spec = {"period": "hourRange", "first": NOW - 5 * HOUR, "last": "now()"}
    assert len(starts(spec)) == 6  # the current, partial hour included
    assert starts({"period": "hourRange", "first": NOW, "count": -2}) == [
        NOW - NOW % HOUR - 2 * HOUR,
        NOW - NOW % HOUR - HOUR,
    ]


def test_starts_within_given_instants():
    series = resolve_time_series({"period": "hourRange", "first": 0, "last": "now()"}, NY, NOW)
    assert series.starts(until_ms=2 * HOUR) == [0, HOUR, 2 * HOUR]
    hour = NOW - NOW % HOUR
    assert series.starts(since_ms=NOW - HOUR - 1) == [hour - HOUR, hour]
    day = 1_543_726_800_000
    series = resolve_time_series({"period": "dayRange", "first": day, "count": 3}, NY, NOW)
    assert series.starts(since_ms=day + 30 * HOUR) == [day + 24 * HOUR, day + 48 * HOUR]


def test_the_first_period_start_and_the_span():
    nov4 = 1_699_070_400_000  # 4 Nov 2023 00:00 EDT; 5 Nov has 25 hours
    mar11 = 1_710_129_600_000  # 11 Mar 2024 00:00 EDT; 10 Mar had 23 hours
    cases = [
        ({"period": "dayRange", "first": nov4 + 5 * HOUR, "count": 1}, nov4, 24),
        ({"period": "dayRange", "first": nov4 + 24 * HOUR, "count": 1}, nov4 + 24 * HOUR, 25),
        ({"period": "dayRange", "first": nov4 + HOUR, "count": 3}, nov4, 73),
        ({"period": "dayRange", "first": mar11, "count": -2}, mar11 - 47 * HOUR, 47),
        ({"period": "dayRange", "first": mar11 - HOUR, "last": mar11 + 1}, mar11 - 23 * HOUR, 47),
        ({"period": "dayRange", "first": mar11 + 1, "last": mar11 + 2}, mar11, 24),
        ({"period": "dayRange", "first": mar11 + 5, "last": mar11}, mar11, 0),
        ({"period": "dayRange", "first": mar11 + 5, "count": 0}, mar11, 0),
        ({"period": "hourRange", "first": NOW, "count": 24}, NOW - NOW % HOUR, 24),
        ({"period": "hourRange", "first": NOW, "last": NOW + 1}, NOW - NOW % HOUR, 1),
        ({"period": "hourRange", "first": NOW, "count": -3}, NOW - NOW % HOUR - 3 * HOUR, 3),
    ]
    for spec, first, hours in cases:
        series = resolve_time_series(spec, NY, NOW)
        assert (series.lo, series.span_ms()) == (first, hours * HOUR), spec
        periods = series.starts()
        if periods:
            end = add_periods(periods[-1], 1, spec["period"], NY)
            assert (periods[0], end - periods[0]) == (first, hours * HOUR)


def test_the_time_series_of_a_request_for_the_log():
    def body(source):
        return request({"source": source}, {"limit": 1})

    spec = {"period": "hourRange", "first": NOW, "count": 2}
    series = request_time_series(body({"events": None, "timeSeries": spec}), tz=NY, now_ms=NOW)
    assert series.span_ms() == 2 * HOUR
    # Only the timeSeries matters, not whether the rest of the request is good.
    bad_source = {"nothing": {"x": 1}, "timeSeries": {**spec, "first": "now()"}}
    assert request_time_series(body(bad_source), tz=NY, now_ms=NOW).lo == NOW - NOW % HOUR
    for bad in (
        body({"accounts": None}),
        body({"events": None, "timeSeries": {"period": "dayRange"}}),
        body(5),
        {"request": {"pipeline": []}},
        [],
    ):
        assert request_time_series(bad, tz=NY, now_ms=NOW) is None


@pytest.mark.parametrize(
    "spec",
    [
        None,
        {"period": "weekRange", "first": 0, "count": 1},
        {"first": 0, "count": 1},
        {"period": "dayRange", "count": 1},
        {"period": "dayRange", "first": 0},
        {"period": "dayRange", "first": 0, "count": 1, "last": 5},
        {"period": "dayRange", "first": "123abc", "count": 1},
        {"period": "dayRange", "first": "-5", "count": 1},
        {"period": "dayRange", "first": 1.5, "count": 1},
        {"period": "dayRange", "first": True, "count": 1},
        {"period": "dayRange", "first": "now", "count": 1},
        {"period": "dayRange", "first": 0, "count": "3"},
        {"period": "dayRange", "first": 0, "count": 10**12},
        {"period": "dayRange", "first": 0, "last": None},
        {"period": "dayRange", "first": 0, "count": 1, "extra": 1},
    ],
)
def test_bad_time_series(spec):
    with pytest.raises(ValueError):
        resolve_time_series(spec, NY, NOW)
    body = request({"source": {"events": None, "timeSeries": spec}})
    with pytest.raises(QueryError, match="^bad parameters for source type events$"):
        parse_request(body, tz=NY, now_ms=NOW, default_app=DEFAULT_APP)


# ---- sources ------------------------------------------------------------------------------

TS = {"period": "dayRange", "first": NOW, "count": 1}


def source(spec):
    body = request({"source": spec})
    return parse_request(body, tz=NY, now_ms=NOW, default_app=DEFAULT_APP).source


@pytest.mark.parametrize(
    "app_id, expected",
    [
        (EVERY_APP, None),
        (7, {7}),
        (-323232, {-323232}),
        ([7, -323232], {7, -323232}),
        ([], set()),
    ],
)
def test_app_id_forms(app_id, expected):
    assert source({"features": {"appId": app_id}}).app_ids == expected


@pytest.mark.parametrize(
    "spec",
    [
        {"features": {"appId": None}},
        {"accounts": {"appId": None}},
        {"featureEvents": {"featureId": None, "appId": None}, "timeSeries": TS},
        {"pageEvents": {"pageId": None}, "timeSeries": TS},
        {"trackEvents": {"trackTypeId": None}, "timeSeries": TS},
        {"guideEvents": {"guideId": None}, "timeSeries": TS},
        {"pollEvents": {"guideId": None, "pollId": None, "appId": None}, "timeSeries": TS},
        {"visitors": {"identified": None}},
    ],
)
def test_a_null_parameter_is_one_left_out(spec):
    name = next(key for key in spec if key != "timeSeries")
    assert source(spec) == source({**spec, name: {}}) == source({**spec, name: None})
    got = source(spec)
    assert got.ids == {} and not got.identified_only
    assert got.app_ids == (None if name == "visitors" else {DEFAULT_APP})


def test_null_parameters_next_to_given_ones():
    spec = source({"featureEvents": {"featureId": "f1", "appId": None}, "timeSeries": TS})
    assert (spec.app_ids, spec.ids) == ({DEFAULT_APP}, {"featureId": "f1"})
    spec = source({"pollEvents": {"guideId": None, "pollId": "p", "appId": 7}, "timeSeries": TS})
    assert (spec.app_ids, spec.ids) == ({7}, {"pollId": "p"})


def test_without_app_id_only_the_default_app():
    assert source({"accounts": None}).app_ids == {DEFAULT_APP}
    assert source({"pages": {}}).app_ids == {DEFAULT_APP}
    spec = source({"featureEvents": {"featureId": "f1"}, "timeSeries": TS})
    assert (spec.app_ids, spec.ids) == ({DEFAULT_APP}, {"featureId": "f1"})
    assert source({"visitors": {"identified": True}}).identified_only


@pytest.mark.parametrize(
    "spec, name",
    [
        ({"fooEvents": None, "timeSeries": TS}, "fooEvents"),
        ({"features": {"appId": "-323232"}}, "features"),
        ({"features": {"appId": "7"}}, "features"),
        ({"features": {"appId": 1.5}}, "features"),
        ({"features": {"appId": True}}, "features"),
        ({"features": {"appId": [7, "8"]}}, "features"),
        ({"features": {"appId": 'expandAppIds("7")'}}, "features"),
        ({"features": {"featureId": "f1"}}, "features"),
        ({"features": {"featureId": None}}, "features"),
        ({"visitors": {"appId": None}}, "visitors"),
        ({"features": []}, "features"),
        ({"featureEvents": {"pageId": "p"}, "timeSeries": TS}, "featureEvents"),
        ({"featureEvents": {"featureId": 5}, "timeSeries": TS}, "featureEvents"),
        ({"visitors": {"appId": 7}}, "visitors"),
        ({"visitors": {"identified": "yes"}}, "visitors"),
        ({"events": None}, "events"),
        ({"pollEvents": {"pollId": "p"}}, "pollEvents"),
        ({"accounts": None, "timeSeries": TS}, "accounts"),
        ({"accounts": None, "visitors": None}, "accounts/visitors"),
    ],
)
def test_bad_sources(spec, name):
    with pytest.raises(QueryError) as caught:
        source(spec)
    assert str(caught.value) == f"bad parameters for source type {name}"


def test_the_first_step_must_be_a_source():
    for body in (request(), request({"limit": 1}), {"request": {}}, [], request({"source": 5})):
        with pytest.raises(QueryError):
            parse_request(body, tz=NY, now_ms=NOW, default_app=DEFAULT_APP)


def test_source_predicates():
    rows = [
        {"visitorId": "v", "appId": 7, "featureId": "f1"},
        {"visitorId": "_PENDO_T_1", "appId": DEFAULT_APP, "featureId": "f1"},
        {"visitorId": "w", "appId": DEFAULT_APP, "featureId": "f2"},
    ]
    spec = source({"featureEvents": {"featureId": "f1", "appId": EVERY_APP}, "timeSeries": TS})
    assert list(filter(source_predicate(spec, None), rows)) == rows[:2]
    spec = source({"featureEvents": None, "timeSeries": TS})
    assert list(filter(source_predicate(spec, None), rows)) == rows[1:]
    spec = source({"visitors": {"identified": True}})
    assert list(filter(source_predicate(spec, None), rows)) == [rows[0], rows[2]]
    assert source_predicate(source({"visitors": None}), None) is None

    apps = {"a": {7}, "b": {DEFAULT_APP, 7}, "c": set()}
    accounts = [{"accountId": a} for a in apps]
    for app_id, expected in ((None, ["b"]), (7, ["a", "b"]), (EVERY_APP, ["a", "b"])):
        params = {} if app_id is None else {"appId": app_id}
        predicate = source_predicate(source({"accounts": params}), apps.__getitem__)
        assert [r["accountId"] for r in filter(predicate, accounts)] == expected
