"""What the Streamlit server adds to the studio: the extra HTTP routes (uploads, provider
callbacks, health), the embedded sandbox provider mounted at /sandbox (or served from a thread
where there is no server), and TCP_NODELAY on the listening socket. It may import every other
part of mjstudio; nothing in mjstudio imports it.
"""
