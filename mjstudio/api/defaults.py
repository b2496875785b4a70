"""The request defaults the settings need, importable without the HTTP and validation libraries.

`mjstudio.config` is read before the server listens; taking these from here keeps httpx and
pydantic out of that path (they load on the start-up thread, with the store and the tracker).
`mjstudio.api.contract` and `mjstudio.api.fence` export the same names.
"""

DEFAULT_REQUEST_TYPE = "async"
DEFAULT_PROVIDER = "auto"
DEFAULT_AUTH_HEADER = "Authorization"  # sent as "Bearer <key>"; other headers carry the bare key
DEFAULT_DEADLINE_S = 15.0  # one deadline per result download
