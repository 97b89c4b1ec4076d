"""The Pendo API, knowing no Singer: the HTTP client (auth, retries, Retry-After, timeouts,
streamed JSON), aggregation request bodies and filters, and keyset paging.

Imports: the config, the errors and timefmt; nothing else of tap_pendo.
"""
