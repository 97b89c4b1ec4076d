"""The words of the Data Sync export layout that the stream definitions name: the kinds of
folder of a subscription and of partition of an export (../shared/pendo-datasync.md).
Kept apart so that naming them imports neither fsspec nor fastavro."""

APPLICATION = "application"  # a folder named by its app id
ACCOUNT = "account"
VISITOR = "visitor"
# The kind of a period's allEvents partition (datasync_periods' `kind`).
ALL_EVENTS = "allEvents"
# The kinds of matched events, the part of a `matchedEvents` id before the `/`.
MATCHED_KINDS = ("Page", "Feature", "TrackType")
