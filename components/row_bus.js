// The board's click bus (components/board_row.py `bus`): one element per board, drawn before
// its rows in every full page run. A row (board_row.js) hands its click here as a DOM event;
// this element sends it as its trigger, so the click reaches the page run whichever element
// draws the row by then (a row moves to another element when a task above it finishes).

const EVENT = "mj-row-action";

export default function ({ data, setTriggerValue }) {
  const where = data && data.where;
  const take = (event) => {
    if (!event.detail || event.detail.where !== where) return;
    event.preventDefault(); // taken: the row does not send it itself
    setTriggerValue("action", event.detail);
  };
  document.addEventListener(EVENT, take);
  return () => document.removeEventListener(EVENT, take);
}
