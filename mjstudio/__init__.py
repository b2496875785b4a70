"""MJ Studio's core: everything but the UI. It never imports streamlit.

Folders, each depending only on those listed before it:

- ``images`` (image helpers) and ``api/`` (the seed's API: request and status models, errors,
  the httpx client, prompt flags) import nothing else of mjstudio;
- ``config`` (the one settings object and provider connections) imports ``api``;
- ``mask/`` (canvas drawing -> polygons in image pixels) imports nothing else of mjstudio;
- ``sandbox/`` (the local stand-in provider) imports ``api``;
- ``tasks/`` (store, tracker, uploads, the service the pages call) imports ``api``, ``config``
  and ``images``;
- ``server/`` (what the Streamlit server adds: routes, the embedded sandbox, socket tuning)
  imports all of the above.

``__main__`` is the command line (``python -m mjstudio history export|import``); like a page,
it may use every part.
"""
