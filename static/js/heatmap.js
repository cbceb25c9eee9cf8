// A tensor in full, as the server describes it (GET .../steps/{k}/tensors): a heatmap grid with every element's
// number, or a canvas of shades for big ones; every element at full precision on hover and in a list below.
// Styles are set through the CSSOM, so a strict CSP needs no 'unsafe-inline'. No number is formatted here.

// diverging colours from the SVG's palette: negative blue (#0072b2), positive vermillion (#d55e00)
const NEG = [0, 114, 178];
const POS = [213, 94, 0];

function colour(shade) {
  const c = shade < 0 ? NEG : POS;
  const a = Math.min(1, Math.abs(shade)) * 0.85;
  return `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${a.toFixed(3)})`;
}

function caption(fig) {
  const cap = document.createElement("figcaption");
  const title = document.createElement("span");
  title.className = "tensor-label";
  title.textContent = fig.label;
  const dims = document.createElement("span");
  dims.className = "muted";
  dims.textContent = fig.dims;
  cap.append(title, " ", dims);
  return cap;
}

function grid(fig) {
  const el = document.createElement("div");
  el.className = "heatmap";
  el.setAttribute("role", "table");
  el.style.gridTemplateColumns = `repeat(${fig.cols}, minmax(3.6em, 7em))`;
  fig.cells.forEach((text, i) => {
    const cell = document.createElement("span");
    cell.className = "cell";
    cell.setAttribute("role", "cell");
    cell.title = fig.tips[i] || "";
    cell.textContent = text;
    const shade = fig.shades[i];
    if (shade === null || shade === undefined) cell.classList.add("nan");
    else {
      cell.style.backgroundColor = colour(shade);
      if (Math.abs(shade) > 0.55) cell.classList.add("strong");
    }
    el.appendChild(cell);
  });
  return el;
}

function canvas(fig) {
  const { rows, cols } = fig;
  const el = document.createElement("canvas");
  el.className = "heatmap-canvas";
  const px = Math.max(2, Math.min(16, Math.floor(280 / Math.max(cols, 1)), Math.floor(280 / Math.max(rows, 1))));
  el.width = cols * px;
  el.height = rows * px;
  el.style.width = `${cols * px}px`;
  el.style.height = `${rows * px}px`;
  const ctx = el.getContext("2d");
  fig.shades.forEach((shade, i) => {
    ctx.fillStyle = shade === null ? "#9a9a9a" : colour(shade);
    ctx.fillRect((i % cols) * px, Math.floor(i / cols) * px, px, px);
  });
  el.addEventListener("mousemove", (e) => {
    const i = Math.floor(e.offsetY / px) * cols + Math.floor(e.offsetX / px);
    el.title = fig.tips[i] || "";
  });
  return el;
}

/** One figure: caption, heatmap, scale, and the full-precision list. */
export function tensorFigure(fig) {
  const el = document.createElement("figure");
  el.className = `tensor ${fig.kind}`;
  el.dataset.kind = fig.kind;
  el.appendChild(caption(fig));
  el.appendChild(fig.grid ? grid(fig) : canvas(fig));

  const scale = document.createElement("div");
  scale.className = "heatmap-scale";
  const lo = document.createElement("span");
  lo.textContent = fig.low;
  const bar = document.createElement("i");
  bar.className = "bar";
  const hi = document.createElement("span");
  hi.textContent = fig.high;
  scale.append(lo, bar, hi);
  el.appendChild(scale);

  const details = document.createElement("details");
  details.className = "tensor-full";
  const summary = document.createElement("summary");
  summary.textContent = fig.summary;
  const pre = document.createElement("pre");
  pre.textContent = fig.listing;
  details.append(summary, pre);
  el.appendChild(details);
  return el;
}
