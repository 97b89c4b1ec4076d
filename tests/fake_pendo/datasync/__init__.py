"""A fake Pendo Data Sync: a deterministic writer of export trees and their ground truth."""

from .fake import FakeDataSync, Written

__all__ = ["FakeDataSync", "Written"]
