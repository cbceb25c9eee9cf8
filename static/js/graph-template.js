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
    this.nodes = new Map([...svg.querySelectorAll("g.node")].map((g) => [g.dataset.nodeId, { g, cls: "" }]));
    this.edges = new Map();
    for (const g of svg.querySelectorAll("g.edge")) this.edges.set(endsOf(g), { g, cls: "" });
    this.chains = new Map();
    for (const g of svg.querySelectorAll("g.chain")) this.chains.set(endsOf(g), { g, cls: "" });
    // the smallest type in the picture, in SVG units (how readable it is at a scale)
    const sizes = [...svg.querySelectorAll("[font-size]")].map((el) => Number(el.getAttribute("font-size")));
    this.minFont = sizes.length ? Math.min(...sizes) : 12;
  }
}

export function setClass(entry, cls) {
  if (entry.cls === cls) return;
  if (entry.cls) for (const c of entry.cls.split(" ")) entry.g.classList.remove(c);
  if (cls) for (const c of cls.split(" ")) entry.g.classList.add(c);
  entry.cls = cls;
}
