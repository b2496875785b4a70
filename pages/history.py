"""History: every task of this workspace, newest first, searchable and filterable.

A run reads one page of rows and counts at most COUNT_CAP matches (components/records.py):
past that, the count says "more than" and the dates or the search reach older tasks.
"""

import datetime as dt

import streamlit as st

from components import (
    actions,
    board,
    favourites,
    records,
    results,
    services,
    task_card,
    team,
    viewer,
)
from components.row_action import Action
from mjstudio.api.contract import MODES
from mjstudio.tasks.record import RecordState, TaskRecord

PAGE_SIZE = 10
COUNT_CAP = 1000

st.title("History")
conn = services.connection()
store = services.studio().store
view = team.history_view()  # sign-in on: your own tasks, or what the team shared

a, b, c, d = st.columns([3, 2, 2, 2])
query = a.text_input("Search prompts", key="history:q", placeholder="lighthouse")
modes = b.multiselect("Mode", MODES, key="history:modes")
states = c.multiselect("State", [s.value for s in RecordState], key="history:states")
dates = d.date_input("Dates", value=(), key="history:dates", help="A day or a range")


def _bounds(picked) -> tuple[float | None, float | None]:
    """Created-at bounds from the date filter (whole local days)."""
    days = list(picked) if isinstance(picked, tuple | list) else [picked]
    if not days:
        return None, None
    start = dt.datetime.combine(days[0], dt.time.min).timestamp()
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time.min).timestamp()
    return start, end


since, until = _bounds(dates)
filters = {"query": query or None, "modes": modes, "states": states, "since": since, "until": until}
filters |= favourites.history_filters() | view  # starred only, one batch; whose
total, more = records.count_upto(store, conn.workspace, COUNT_CAP, **filters)
pages = max(1, -(-total // PAGE_SIZE))
page_no = st.number_input("Page", 1, pages, 1, key="history:page") if pages > 1 else 1
if more:
    st.caption(
        f"More than {COUNT_CAP:,} tasks · page {page_no} of the newest {pages} "
        "(search or pick dates to reach older ones)"
    )
else:
    st.caption(f"{total} task(s) · page {page_no} of {pages}")


def history_bar(record: TaskRecord) -> list[Action]:
    """History's actions on a task: star, share, open it in its page, reuse, re-run, delete."""
    found = [favourites.star_action(record, where="history"), *team.share_action(record, "history")]
    opens = Action(
        "open",
        "Open",
        lambda: actions.open_in_page(record),
        help="Show in its page feed",
        key=f"history:{record.id}:open",
    )
    found += [opens, board.use_action(record, where="history")]
    found.append(board.rerun_action(record, where="history"))
    if team.is_mine(record):
        found.append(
            Action(
                "delete",
                "Delete",
                lambda: _delete(record),
                help="Remove the task and its downloaded files",
                key=f"history:{record.id}:delete",
            )
        )
    return found


def _delete(record: TaskRecord) -> None:
    actions.delete(record)
    st.rerun()


shown = store.list(conn.workspace, **filters, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
board.style()
results.read_children(shown)  # for each row's lineage: one query
with st.container(key=board.wrapper_key("history"), gap="xsmall"):
    task_card.render_all(shown, where="history", compact=True, bar=history_bar)
viewer.show("history", [r.id for r in shown])
