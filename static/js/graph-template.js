// The graph's template: the server's SVG for one (phase, theme, language, collapse, template id), parsed once.
// Its changing strings sit in slots (`data-label`, tooltips `data-tip`) that the patcher fills from the server's
// labels; nodes, edges and chain labels are found by their data attributes for the walk and selection classes.

export function titleOf(node) {
  if (node.kind === "op") return node.name || node.op || node.grad_fn || "op";
  return node.name || node.kind;
}

function endsOf(g) {
  const d = g.dataset;
  return d.source !== undefined && d.target !== undefined ? `${d.source}|${d.target}|${d.slot ?? ""}` : null;
}

export class Template {
  constructor(svg) {
    this.svg = svg;
    const vb = svg.viewBox.baseVal;
    this.width = vb && vb.width ? vb.width : Number(svg.getAttribute("width"));
    this.height = vb && vb.height ? vb.height : Number(svg.getAttribute("height"));
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    this.slots = [...svg.querySelectorAll("[data-label]")].map((el) => ({ id: el.dataset.label, el, last: el.textContent }));
    this.tips = [...svg.querySelectorAll("[data-tip]")].map((el) => ({ id: el.dataset.tip, el, last: el.textContent }));
    this.nodes = new Map([...svg.querySelectorAll("g.node")].map((g) => [g.dataset.nodeId, nodeEntry(g)]));
    this.order = keyOrder(this.nodes);
    for (const [id, { key }] of this.nodes) key.setAttribute("tabindex", id === this.order[0] ? "0" : "-1");
    this.tabStop = this.order[0] ?? null; // the one node Tab lands on from outside (a roving tab stop)
    this.edges = new Map();
    for (const g of svg.querySelectorAll("g.edge")) this.edges.set(endsOf(g), { g, cls: "" });
    this.chains = new Map();
    for (const g of svg.querySelectorAll("g.chain")) this.chains.set(endsOf(g), { g, cls: "" });
    // the smallest type in the picture, in SVG units (how readable it is at a scale)
    const sizes = [...svg.querySelectorAll("[font-size]")].map((el) => Number(el.getAttribute("font-size")));
    this.minFont = sizes.length ? Math.min(...sizes) : 12;
  }
}

/**
 * A node of the picture and the element that takes the keyboard for it: the box's frame (its last rect), a
 * button named with the server's sentence of the box (patcher.js). Not the <g> itself: the box's texts are
 * placed one by one, so read as the <g>'s content they run together ("ydatavalue6"), and a name must contain
 * the visible text (WCAG 2.5.3); the texts and the tooltip are not read a second time beside the name.
 */
function nodeEntry(g) {
  const key = g.querySelector(":scope > rect:last-of-type") || g;
  key.classList.add("node-key");
  key.setAttribute("role", "button"); // Enter or Space selects the node, as a click does (graph.js)
  for (const el of g.querySelectorAll(":scope > text, :scope > title")) el.setAttribute("aria-hidden", "true");
  return { g, key, cls: "", aria: null };
}

/** The order Tab visits the nodes in: autograd's (the backward walk the server wrote as `data-order`, the loss
 * first), then the nodes autograd does not visit (data, constants, collapsed modules) as the picture lists them. */
function keyOrder(nodes) {
  const ranked = [];
  const rest = [];
  for (const [id, { g }] of nodes) {
    const order = g.dataset.order;
    if (order === undefined || order === "") rest.push(id);
    else ranked.push([Number(order), id]);
  }
  ranked.sort((a, b) => a[0] - b[0]);
  return [...ranked.map(([, id]) => id), ...rest];
}

/** The node after (dir 1) or before (dir -1) `id` in Tab order, or null past either end. */
export function neighbour(tpl, id, dir) {
  const i = tpl.order.indexOf(id);
  const j = i + dir;
  return i >= 0 && j >= 0 && j < tpl.order.length ? tpl.order[j] : null;
}

/** Focus a node and make it the tab stop (the others stay out of the page's Tab sequence). */
export function focusNode(tpl, id) {
  const entry = tpl.nodes.get(id);
  if (!entry) return;
  const old = tpl.nodes.get(tpl.tabStop);
  if (old && old !== entry) old.key.setAttribute("tabindex", "-1");
  entry.key.setAttribute("tabindex", "0");
  tpl.tabStop = id;
  entry.key.focus({ preventScroll: true });
}

export function setClass(entry, cls) {
  if (entry.cls === cls) return;
  if (entry.cls) for (const c of entry.cls.split(" ")) entry.g.classList.remove(c);
  if (cls) for (const c of cls.split(" ")) entry.g.classList.add(c);
  entry.cls = cls;
}
