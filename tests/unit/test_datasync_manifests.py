"""Data Sync manifests: the folders of a subscription, exports, periods, lost counters.

Manifests are written here from ../shared/pendo-datasync.md, not copied from any fake.
"""

import json

import fsspec
import pytest

from tap_pendo.datasync import (
    ACCOUNT,
    ALL_EVENTS,
    APPLICATION,
    VISITOR,
    DataSyncError,
    MatchedEvents,
    Partition,
    describe_counters,
    find_subscription,
    open_store,
    read_manifest,
)

DAY_MS = 86_400_000


def app_manifest():
    return {
        "exports": [
            {
                "counter": 9,
                "rootUrl": "s3://elsewhere/mirror/datasync/5650/-323232/export-9",
                "guideDefinitionsFile": "allguides.avro",
            },
            {
                "counter": 7,
                # Another bucket and scheme, and a trailing slash.
                "rootUrl": "gs://acme-pendo/datasync/5650/-323232/1c9fe2/",
                "pageDefinitionsFile": ["allpages.avro"],
                "featureDefinitionsFile": ["allfeatures.avro"],
                "trackTypeDefinitionsFile": ["alltracktypes.avro"],
                "guideDefinitionsFile": ["allguides.avro"],
                "timeDependent": [
                    {
                        "periodId": "2026-11-30T00:00:00Z",
                        "allEvents": {
                            "files": ["20261130/allevents-000.avro", "20261130/allevents-001.avro"]
                        },
                        "matchedEvents": [
                            {
                                "id": "Page/q95zvVQ6m5wyBz7-FcgxsIKCeLw",
                                "files": [
                                    "20261130/matchedEvents/Page/q95zvVQ6m5wyBz7-FcgxsIKCeLw.avro"
                                ],
                            },
                            {"id": "Feature/Xk2", "files": []},
                            {"id": "TrackType/signup", "files": ["20261130/t.avro"]},
                        ],
                    },
                    {"periodId": "2026-11-22T00:00:00Z", "allEvents": {"files": []}},
                ],
            },
            {
                "counter": 8,
                "rootUrl": "gs://acme-pendo/datasync/5650/-323232/retro-8",
                "timeDependent": [
                    {
                        "periodId": "2026-11-01T00:00:00Z",
                        "matchedEvents": [{"id": "Page/a/b", "files": ["m/a.avro"]}],
                    }
                ],
            },
        ]
    }


def write_tree(root, manifests: dict, extra_folders=()):
    """datasync/5650/{folder}/exportmanifest.json for each folder; None: no manifest."""
    subscription = root / "datasync" / "5650"
    for folder, manifest in manifests.items():
        (subscription / folder).mkdir(parents=True, exist_ok=True)
        if manifest is not None:
            text = manifest if isinstance(manifest, str) else json.dumps(manifest)
            (subscription / folder / "exportmanifest.json").write_text(text)
    for folder in extra_folders:
        (subscription / folder).mkdir(parents=True)
    (subscription / "README.txt").write_text("a file, not a folder")
    return open_store(str(root))


def folder_named(subscription, name):
    return next(folder for folder in subscription.folders if folder.name == name)


def one_line_error(call) -> str:
    with pytest.raises(DataSyncError) as raised:
        call()
    assert "\n" not in str(raised.value)
    return str(raised.value)


def test_the_folders_of_a_subscription_are_applications_account_and_visitor(tmp_path):
    store = write_tree(
        tmp_path,
        {"-323232": app_manifest(), "42": None, "account": None, "visitor": None},
        extra_folders=["_copy_in_progress", "1e5"],
    )
    subscription = find_subscription(store)
    assert subscription.id == "5650"
    kinds = [(f.kind, f.name, f.app_id) for f in subscription.folders]
    assert kinds == [
        (APPLICATION, "-323232", -323232),
        (APPLICATION, "42", 42),
        (ACCOUNT, "account", None),
        (VISITOR, "visitor", None),
    ]
    assert subscription.ignored == ("1e5", "_copy_in_progress")
    app = folder_named(subscription, "-323232")
    assert app.path == str(tmp_path / "datasync" / "5650" / "-323232")
    assert app.manifest == app.path + "/exportmanifest.json"


def test_exports_come_in_counter_order_with_their_folders_resolved_from_root_url(tmp_path):
    store = write_tree(tmp_path, {"-323232": app_manifest()})
    manifest = read_manifest(store, folder_named(find_subscription(store), "-323232"))
    folder = tmp_path / "datasync" / "5650" / "-323232"
    assert [export.counter for export in manifest.exports] == [7, 8, 9]
    assert [export.folder for export in manifest.exports] == [
        str(folder / "1c9fe2"),
        str(folder / "retro-8"),
        str(folder / "export-9"),
    ]
    assert manifest.exports[0].root_url == "gs://acme-pendo/datasync/5650/-323232/1c9fe2/"
    assert manifest.newest.counter == 9


def test_an_export_lists_its_definitions_periods_and_matched_events(tmp_path):
    store = write_tree(tmp_path, {"-323232": app_manifest()})
    first, retro, last = read_manifest(
        store, folder_named(find_subscription(store), "-323232")
    ).exports
    assert first.page_definitions == ("allpages.avro",)
    assert first.feature_definitions == ("allfeatures.avro",)
    assert first.track_type_definitions == ("alltracktypes.avro",)
    assert first.guide_definitions == ("allguides.avro",)
    day, late_day = first.periods
    assert (day.period_id, day.start_ms) == ("2026-11-30", 20787 * DAY_MS)
    assert day.all_events == ("20261130/allevents-000.avro", "20261130/allevents-001.avro")
    assert day.matched_events == (
        MatchedEvents(
            "Page",
            "q95zvVQ6m5wyBz7-FcgxsIKCeLw",
            ("20261130/matchedEvents/Page/q95zvVQ6m5wyBz7-FcgxsIKCeLw.avro",),
        ),
        MatchedEvents("Feature", "Xk2", ()),  # files: [] - matches nothing any more
        MatchedEvents("TrackType", "signup", ("20261130/t.avro",)),
    )
    assert (late_day.period_id, late_day.all_events, late_day.matched_events) == (
        "2026-11-22",
        (),
        (),
    )
    # Absent keys: no definitions, no allEvents (None, not an empty partition).
    assert retro.page_definitions == () and retro.guide_definitions == ()
    (retro_day,) = retro.periods
    assert retro_day.all_events is None
    assert retro_day.matched_events == (MatchedEvents("Page", "a/b", ("m/a.avro",)),)
    # One name instead of a list.
    assert last.guide_definitions == ("allguides.avro",) and last.periods == ()
    # File names may hold folders; the path is the export folder's.
    assert (
        first.path("20261130/allevents-000.avro") == first.folder + "/20261130/allevents-000.avro"
    )
    assert first.files()[:4] == (
        "allpages.avro",
        "allfeatures.avro",
        "alltracktypes.avro",
        "allguides.avro",
    )
    assert len(first.files()) == 8


def test_an_exports_partitions_are_its_periods_all_events_and_matched_events(tmp_path):
    store = write_tree(tmp_path, {"-323232": app_manifest()})
    first, retro, _ = read_manifest(
        store, folder_named(find_subscription(store), "-323232")
    ).exports
    day = 20787 * DAY_MS
    assert list(first.partitions()) == [
        Partition(ALL_EVENTS, "", "2026-11-30", day, first.periods[0].all_events),
        Partition(
            "Page",
            "q95zvVQ6m5wyBz7-FcgxsIKCeLw",
            "2026-11-30",
            day,
            first.periods[0].matched_events[0].files,
        ),
        Partition("Feature", "Xk2", "2026-11-30", day, ()),
        Partition("TrackType", "signup", "2026-11-30", day, ("20261130/t.avro",)),
        Partition(ALL_EVENTS, "", "2026-11-22", day - 8 * DAY_MS, ()),
    ]
    # A retroactive export: matched events alone, no allEvents partition.
    assert [(p.kind, p.matchable_id) for p in retro.partitions()] == [("Page", "a/b")]


def test_account_and_visitor_exports_list_records_and_metadata_schema_files(tmp_path):
    account = {
        "exports": [
            {
                "counter": 3,
                "rootUrl": "az://c/datasync/5650/account/a3",
                "accounts": {"files": ["accounts-000.avro", "accounts-001.avro"]},
                "metadataSchemaFile": "metadataschema.avro",
            }
        ]
    }
    visitor = {
        "exports": [
            {
                "counter": 1,
                "rootUrl": "az://c/datasync/5650/visitor/v1",
                "visitors": {"files": ["visitors.avro"]},
                "metadataSchemaFile": ["metadataschema.avro"],
            }
        ]
    }
    store = write_tree(tmp_path, {"account": account, "visitor": visitor})
    subscription = find_subscription(store)
    (accounts,) = read_manifest(store, folder_named(subscription, "account")).exports
    (visitors,) = read_manifest(store, folder_named(subscription, "visitor")).exports
    assert accounts.records == ("accounts-000.avro", "accounts-001.avro")
    assert accounts.metadata_schema == ("metadataschema.avro",)
    assert accounts.folder == str(tmp_path / "datasync" / "5650" / "account" / "a3")
    assert accounts.periods == () and accounts.page_definitions == ()
    assert visitors.records == ("visitors.avro",)
    assert visitors.metadata_schema == ("metadataschema.avro",)


def test_lost_counters_are_those_after_the_bookmark_before_a_listed_one():
    from tap_pendo.datasync import Export, Folder, Manifest

    folder = Folder(APPLICATION, "1", 1, "d/1", "d/1/exportmanifest.json")
    manifest = Manifest(folder, tuple(Export(c, f"x/{c}", f"d/1/{c}") for c in (8, 9, 11)))
    assert manifest.lost(None) == ()
    assert manifest.lost(7) == (range(10, 11),)  # a gap inside the list counts too
    assert manifest.lost(5) == (range(6, 8), range(10, 11))
    assert describe_counters(manifest.lost(5)) == "6-7, 10"
    assert manifest.lost(9) == (range(10, 11),)
    assert manifest.lost(11) == () and manifest.lost(40) == ()
    assert [export.counter for export in manifest.after(8)] == [9, 11]
    assert manifest.after(None) == manifest.exports


def test_a_folder_without_a_manifest_has_no_exports_yet(tmp_path):
    store = write_tree(tmp_path, {"42": None})
    manifest = read_manifest(store, folder_named(find_subscription(store), "42"))
    assert manifest.exports == () and manifest.newest is None and manifest.lost(3) == ()


@pytest.mark.parametrize(
    "text,reason",
    [
        ('{"exports": [{"counter": 1, "rootUrl": "x/1"}', "not JSON"),
        ("<html>503</html>", "not JSON"),
        ("", "not JSON"),
        ("[]", "not an object"),
        ('{"exports": {"counter": 1}}', "`exports` is not a list"),
        ('{"other": []}', "no `exports` list"),
        ('{"exports": [{"rootUrl": "x/1"}]}', "counter is None"),
        ('{"exports": [{"counter": 1}]}', "export 1 has no rootUrl"),
        (
            '{"exports": [{"counter": 1, "rootUrl": "x/1", "timeDependent": [{"periodId": "soon"}]}]}',
            "periodId 'soon'",
        ),
        (
            '{"exports": [{"counter": 1, "rootUrl": "x/1", "pageDefinitionsFile": 5}]}',
            "pageDefinitionsFile",
        ),
    ],
)
def test_a_manifest_that_cannot_be_read_stops_with_one_line_naming_it(tmp_path, text, reason):
    store = write_tree(tmp_path, {"-1": text})
    folder = folder_named(find_subscription(store), "-1")
    message = one_line_error(lambda: read_manifest(store, folder))
    assert message.startswith(
        str(tmp_path / "datasync" / "5650" / "-1" / "exportmanifest.json") + ": "
    )
    assert reason in message


def test_an_empty_exports_list_is_a_manifest_without_exports(tmp_path):
    store = write_tree(tmp_path, {"-1": {"exports": []}})
    assert read_manifest(store, folder_named(find_subscription(store), "-1")).exports == ()


def test_several_subscription_folders_need_one_named(tmp_path):
    write_tree(tmp_path, {"-1": app_manifest()})
    (tmp_path / "datasync" / "7777" / "3").mkdir(parents=True)
    store = open_store(str(tmp_path))
    message = one_line_error(lambda: find_subscription(store))
    assert "several subscription folders (5650, 7777)" in message
    assert find_subscription(store, "7777").folders[0].app_id == 3
    assert "no folder of subscription 12" in one_line_error(lambda: find_subscription(store, 12))


def test_a_datasync_folder_without_a_subscription_says_no_export_was_written(tmp_path):
    (tmp_path / "datasync").mkdir()
    store = open_store(str(tmp_path))
    assert "no subscription folder yet" in one_line_error(lambda: find_subscription(store))


def test_manifests_are_read_through_an_fsspec_memory_store():
    memory = fsspec.filesystem("memory")
    memory.pipe(
        "/pendo-test-manifests/datasync/5650/-5/exportmanifest.json",
        json.dumps(app_manifest()).encode(),
    )
    try:
        store = open_store("memory://pendo-test-manifests")
        (folder,) = find_subscription(store).folders
        manifest = read_manifest(store, folder)
        assert [e.counter for e in manifest.exports] == [7, 8, 9]
        assert manifest.exports[0].folder == "/pendo-test-manifests/datasync/5650/-5/1c9fe2"
        assert store.url_of(manifest.exports[0].path("a.avro")) == (
            "memory://pendo-test-manifests/datasync/5650/-5/1c9fe2/a.avro"
        )
    finally:
        memory.rm("/pendo-test-manifests", recursive=True)


def test_a_large_manifest_is_parsed_as_a_stream(tmp_path):
    periods = [
        {
            "periodId": (20000 + day) * DAY_MS,  # epoch ms is taken too
            "allEvents": {"files": [f"{day}/allevents.avro"]},
            "matchedEvents": [
                {"id": f"Page/p{m}", "files": [f"{day}/p{m}.avro"]} for m in range(20)
            ],
        }
        for day in range(300)
    ]
    manifest = {"exports": [{"counter": 1, "rootUrl": "x/e1", "timeDependent": periods}]}
    store = write_tree(tmp_path, {"-1": manifest})
    (export,) = read_manifest(store, folder_named(find_subscription(store), "-1")).exports
    assert len(export.periods) == 300
    assert export.periods[-1].period_id == "2025-07-30"
    assert export.periods[-1].matched_events[-1] == MatchedEvents("Page", "p19", ("299/p19.avro",))
