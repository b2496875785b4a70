// One finished task as one board row (components/board_row.py sends `data`; see its docstring).
// Every string from a user or a provider is set as text (textContent), never parsed as HTML.
// The row is drawn again from `data` whenever Python sends new data, so this function keeps no
// state between calls and adds listeners only to the elements it makes.

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function button(label, help, onClick, className = "tool") {
  const node = make("button", className, label);
  node.type = "button";
  if (help) node.title = help;
  node.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return node;
}

function placeMenu(menu, anchor) {
  const box = anchor.getBoundingClientRect();
  const high = menu.offsetHeight;
  const below = box.bottom + 4;
  const top = below + high > window.innerHeight ? Math.max(4, box.top - high - 4) : below;
  const left = Math.min(box.left, window.innerWidth - menu.offsetWidth - 4);
  menu.style.top = `${top}px`;
  menu.style.left = `${Math.max(4, left)}px`;
}

function imageMenu(image, entries, send) {
  const menu = make("div", "menu");
  menu.popover = "auto";
  menu.setAttribute("role", "menu");
  menu.setAttribute("aria-label", `Image ${image.n}`);
  for (const entry of entries) {
    const item = button(entry, "", () => {
      menu.hidePopover();
      send({ do: "menu", index: image.n - 1, entry });
    }, "entry");
    item.setAttribute("role", "menuitem");
    menu.append(item);
  }
  return menu;
}

function tools(image, data, send) {
  const bar = make("div", data.upscaled ? "tools under" : "tools");
  if (image.derive) {
    bar.append(
      button(`U${image.n}`, `Upscale image ${image.n} (${data.upscale}); ⋯ has the other types`,
        () => send({ do: "U", index: image.n - 1 })),
      button(`V${image.n}`, `Vary image ${image.n} (${data.vary}); ⋯ has the other types`,
        () => send({ do: "V", index: image.n - 1 })),
    );
  }
  if (!image.src) return bar;
  bar.append(button("⤢", `Open image ${image.n} large (←/→ step through the board)`,
    () => send({ do: "open", index: image.n - 1 })));
  const menu = imageMenu(image, data.menu, send);
  const more = button("⋯", `Image ${image.n}: every upscale and vary type, Paint this, ` +
    "Use as reference", () => {}); // the browser opens the menu: the button is its invoker
  more.popoverTargetElement = menu;
  menu.addEventListener("toggle", (event) => {
    if (event.newState === "open") placeMenu(menu, more);
  });
  bar.append(more, menu);
  return bar;
}

function tile(image, data, send) {
  const box = make("div", "tile");
  if (image.src) {
    const img = make("img");
    img.src = image.src;
    img.alt = `Image ${image.n}`;
    img.draggable = false;
    img.addEventListener("dblclick", () => send({ do: "open", index: image.n - 1 }));
    box.append(img);
  } else {
    box.append(make("div", "missing", `Image ${image.n}: the file is missing`));
  }
  if (data.upscaled && image.src) box.append(make("div", "size", data.upscaled));
  box.append(tools(image, data, send));
  return box;
}

function about(data, send) {
  const text = make("div", "about");
  const head = make("div", "head");
  head.append(make("span", "icon", data.icon), ` ${data.state} · `, make("b", "", data.mode));
  if (data.when) head.append(` · ${data.when}`);
  text.append(head, make("div", "title", data.title), make("div", "details", data.details));
  if (data.warning) text.append(make("div", "warning", data.warning));
  const bar = make("div", "actions");
  for (const action of data.actions) {
    const node = button(action.label, action.help, () => send({ do: action.name }), "action");
    if (action.name === "star") node.classList.add("star");
    bar.append(node);
  }
  if (data.download) {
    const link = make("a", "action download", data.download.label);
    link.href = data.download.href;
    link.download = ""; // the server names the file
    link.title = data.download.help;
    bar.append(link);
  }
  text.append(bar);
  return text;
}

const DECODER = new TextDecoder();
// root -> Map(row id -> {text, node}): a row whose data did not change keeps its elements.
const DRAWN = new WeakMap();

const EVENT = "mj-row-action"; // taken by the board's click bus (row_bus.js)

function drawRow(data, where, setTriggerValue) {
  // A click goes to the board's bus, which is in every full page run: a row may be drawn by
  // another element by the time the click reaches the server (a task above it finished). With
  // no bus on the page, this element's own trigger sends it.
  const send = (value) => {
    const detail = { ...value, row: data.row, nonce: data.nonce, where };
    const event = new CustomEvent(EVENT, { detail, cancelable: true });
    if (document.dispatchEvent(event)) setTriggerValue("action", detail);
  };
  const row = make("div", `mj-row st-key-${data.card}`);
  row.dataset.row = data.row;
  row.style.setProperty("--tile", `${data.tile}px`);
  const images = make("div", "images");
  for (const image of data.images) images.append(tile(image, data, send));
  row.append(images, about(data, send));
  return row;
}

export default function ({ data: sent, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".mj-rows");
  if (!root || !sent) return;
  // Every page run sends the rows again; drawing an unchanged row again would replace the
  // buttons under the pointer (a click in between would be lost) and close an open menu.
  const { rows, where } = JSON.parse(DECODER.decode(sent)); // UTF-8 JSON: Python sends bytes
  const before = DRAWN.get(root) ?? new Map();
  const now = new Map();
  const nodes = rows.map((data) => {
    const text = JSON.stringify(data);
    const kept = before.get(data.row);
    const node = kept && kept.text === text ? kept.node : drawRow(data, where, setTriggerValue);
    now.set(data.row, { text, node });
    return node;
  });
  DRAWN.set(root, now);
  if (nodes.length !== root.children.length || nodes.some((n, i) => root.children[i] !== n)) {
    root.replaceChildren(...nodes);
  }
}
