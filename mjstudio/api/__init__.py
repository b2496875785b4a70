"""The Midjourney task API as the seed documents it: typed request models with the seed's
defaults and ranges (``contract``), status parsing with the documented tolerance (``status``),
one error hierarchy (``errors``), the httpx client with timeouts and safe retries (``client``)
and its async status calls (``status_client``), every outbound fetch's fence (``fence``),
Midjourney's inline prompt flags (``prompt``) and permutation prompts (``matrix``). It imports
nothing else of mjstudio, so the client can be used on its own.
"""
