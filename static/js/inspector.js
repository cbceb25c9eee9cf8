// The inspector: one node at full precision, its local derivative and the chain rule, all numbers from PyTorch.
// The formulas below only *name* the derivative autograd applies; they never compute anything shown.

import { fmtFull, fmtPreview, fmtShape } from "./format.js";
import { t } from "./i18n.js";
import { titleOf } from "./graph.js";
import { isTensor, tensorFigure } from "./heatmap.js";

// Keyed by grad_fn (PyTorch's class name). Inputs are named a, b in slot order; z is the output; G = dL/dz.
export const LOCAL_DERIVATIVES = {
  MulBackward0: { f: "z = a · b", d: ["∂z/∂a = b", "∂z/∂b = a"] },
  MulBackward1: { f: "z = a · c", d: ["∂z/∂a = c"] },
  AddBackward0: { f: "z = a + α·b", d: ["∂z/∂a = 1", "∂z/∂b = α (usually 1)"] },
  AddBackward1: { f: "z = a + c", d: ["∂z/∂a = 1"] },
  SubBackward0: { f: "z = a − α·b", d: ["∂z/∂a = 1", "∂z/∂b = −α (usually −1)"] },
  SubBackward1: { f: "z = a − c", d: ["∂z/∂a = 1"] },
  RsubBackward0: { f: "z = b − a", d: ["∂z/∂a = −1", "∂z/∂b = 1"] },
  RsubBackward1: { f: "z = c − a", d: ["∂z/∂a = −1"] },
  DivBackward0: { f: "z = a / b", d: ["∂z/∂a = 1 / b", "∂z/∂b = −a / b²"] },
  DivBackward1: { f: "z = a / c", d: ["∂z/∂a = 1 / c"] },
  NegBackward0: { f: "z = −a", d: ["∂z/∂a = −1"] },
  PowBackward0: { f: "z = aⁿ", d: ["∂z/∂a = n · aⁿ⁻¹   (for **2: 2a)"] },
  PowBackward1: { f: "z = aᵇ", d: ["∂z/∂a = b · aᵇ⁻¹", "∂z/∂b = aᵇ · ln a"] },
  SqrtBackward0: { f: "z = √a", d: ["∂z/∂a = 1 / (2√a)"] },
  ExpBackward0: { f: "z = eᵃ", d: ["∂z/∂a = eᵃ = z"] },
  LogBackward0: { f: "z = ln a", d: ["∂z/∂a = 1 / a"] },
  SinBackward0: { f: "z = sin a", d: ["∂z/∂a = cos a"] },
  CosBackward0: { f: "z = cos a", d: ["∂z/∂a = −sin a"] },
  AbsBackward0: { f: "z = |a|", d: ["∂z/∂a = sign(a)"] },
  SigmoidBackward0: { f: "z = σ(a) = 1 / (1 + e⁻ᵃ)", d: ["∂z/∂a = σ(a) · (1 − σ(a)) = z(1 − z)"] },
  TanhBackward0: { f: "z = tanh a", d: ["∂z/∂a = 1 − tanh² a = 1 − z²"] },
  ReluBackward0: { f: "z = max(0, a)", d: ["∂z/∂a = 1 if a > 0 else 0"] },
  SumBackward0: { f: "z = Σᵢ aᵢ", d: ["∂z/∂aᵢ = 1"] },
  SumBackward1: { f: "z = Σ a (over dims)", d: ["∂z/∂aᵢ = 1"] },
  MeanBackward0: { f: "z = (1/n) Σᵢ aᵢ", d: ["∂z/∂aᵢ = 1/n"] },
  MeanBackward1: { f: "z = mean(a, dims)", d: ["∂z/∂aᵢ = 1/n"] },
  MmBackward0: { f: "Z = A · B", d: ["∂L/∂A = G · Bᵀ", "∂L/∂B = Aᵀ · G"] },
  MvBackward0: { f: "z = A · v", d: ["∂L/∂A = G · vᵀ", "∂L/∂v = Aᵀ · G"] },
  DotBackward0: { f: "z = a · b (dot)", d: ["∂z/∂a = b", "∂z/∂b = a"] },
  AddmmBackward0: { f: "Z = bias + A · B", d: ["∂L/∂bias = G (summed)", "∂L/∂A = G · Bᵀ", "∂L/∂B = Aᵀ · G"] },
  TBackward0: { f: "Z = Aᵀ", d: ["∂L/∂A = Gᵀ"] },
  ViewBackward0: { f: "z = a.view(…)", d: ["∂L/∂a = G reshaped"] },
  ReshapeAliasBackward0: { f: "z = a.reshape(…)", d: ["∂L/∂a = G reshaped"] },
  UnsqueezeBackward0: { f: "z = a.unsqueeze(d)", d: ["∂L/∂a = G.squeeze(d)"] },
  SqueezeBackward0: { f: "z = a.squeeze()", d: ["∂L/∂a = G reshaped"] },
  ExpandBackward0: { f: "z = a.expand(…)", d: ["∂L/∂a = G summed over the expanded dims"] },
  SoftmaxBackward0: { f: "zᵢ = eᵃⁱ / Σⱼ eᵃʲ", d: ["∂zᵢ/∂aⱼ = zᵢ(δᵢⱼ − zⱼ)"] },
  LogSoftmaxBackward0: { f: "zᵢ = aᵢ − log Σⱼ eᵃʲ", d: ["∂zᵢ/∂aⱼ = δᵢⱼ − softmax(a)ⱼ"] },
  NllLossBackward0: { f: "L = −mean(a[target])", d: ["∂L/∂a = −1/n at the targets, 0 elsewhere"] },
  MseLossBackward0: { f: "L = mean((a − b)²)", d: ["∂L/∂a = 2(a − b) / n"] },
  BinaryCrossEntropyBackward0: { f: "L = −[y ln p + (1−y) ln(1−p)]", d: ["∂L/∂p = (p − y) / (p(1 − p))"] },
  AccumulateGrad: { f: "leaf.grad += incoming gradient", d: ["stores dL/d(leaf) in .grad"] },
};

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

/** A number of the chain rule at full precision; a tensor as a preview with every element in its tooltip. */
function part(v) {
  if (!isTensor(v)) return esc(fmtFull(v));
  return `<span class="tensor-part" title="${esc(fmtFull(v, 64))}">${esc(fmtPreview(v, 40))}</span>`;
}

function row(label, value, cls = "") {
  return `<dt>${esc(label)}</dt><dd class="${cls}">${esc(value)}</dd>`;
}

/**
 * Render the inspector for `nodeId` in `step` (phase, reveal as in GraphView.draw).
 * Returns the HTML (so tests can read it) after writing it into `el`.
 */
export function renderInspector(el, step, nodeId, { phase, reveal, explain = [] }) {
  if (!step || !nodeId) {
    el.innerHTML = `<p class="muted">${esc(t("inspector.empty"))}</p>`;
    return;
  }
  const nodes = new Map(step.graph.nodes.map((n) => [n.id, n]));
  const node = nodes.get(nodeId);
  if (!node) {
    el.innerHTML = `<p class="muted">${esc(t("inspector.empty"))}</p>`;
    return;
  }
  const kind = node.is_loss ? "loss" : node.kind;
  const pending =
    phase === "backward" && reveal !== null && node.order !== null && node.order !== undefined && node.order >= reveal;
  const gradKnown = phase !== "forward" && !pending;
  const param = node.kind === "param" && node.name ? step.params[node.name] : null;

  let html = `<div class="head"><span class="title">${esc(titleOf(node))}</span>
    <span class="pill ${kind}">${esc(t(`kind.${kind}`))}</span></div>`;
  // the step's explanation of this node, as the server wrote it (what is not computed yet stays hidden)
  const known = { forward: ["forward"], backward: pending ? ["forward"] : ["forward", "backward"] }[phase];
  const said = explain.filter((l) => l.node === nodeId && (!known || known.includes(l.phase)));
  if (said.length) {
    html += `<div class="said" data-testid="inspector-explain">${said.map((l) => `<p class="formula">${esc(l.text)}</p>`).join("")}</div>`;
  }
  // the chain rule first: what a student looks for after clicking a node
  if (phase === "backward" && gradKnown) html += chainRule(step, node, nodes);
  html += "<dl>";
  if (node.grad_fn) html += row(t("inspector.class"), node.grad_fn);
  html += row(t("inspector.shape"), node.shape && node.shape.length ? `${fmtShape(node.shape)} (${JSON.stringify(node.shape)})` : "scalar");
  // a tensor's elements are all shown below (heatmap and full list): the row gives a preview
  const shown = (v) => (isTensor(v) ? fmtPreview(v, 40) : fmtFull(v));
  if (node.kind === "param" && phase === "update" && param) {
    html += row(t("inspector.before"), shown(param.before));
    html += row(t("inspector.after"), shown(param.after));
  } else {
    html += row(t("inspector.value"), shown(node.value));
  }
  if (node.kind === "param" || node.kind === "op") {
    if (!gradKnown) {
      html += row(t("inspector.grad"), phase === "forward" ? "—" : t("inspector.pending"), "muted");
    } else if (node.kind === "param") {
      const grad = phase === "update" && param ? param.grad : node.grad;
      const gstep = phase === "update" && param ? param.grad_step : node.grad_step;
      if (gstep !== null && gstep !== undefined && fmtFull(gstep) !== fmtFull(grad)) {
        html += row(t("inspector.grad.step"), shown(gstep), "grad");
        html += row(t("inspector.grad.acc"), shown(grad), "grad");
      } else {
        html += row(t("inspector.grad"), shown(grad), "grad");
      }
    } else {
      html += row(t("inspector.grad"), shown(node.grad), "grad");
    }
  } else {
    html += row(t("inspector.grad"), t("inspector.nograd"), "muted");
  }
  if (node.order !== null && node.order !== undefined) html += row(t("inspector.order"), `#${node.order + 1}`);
  if (node.module) html += row(t("inspector.module"), node.module);
  html += "</dl>";

  // tensors in full, with a heatmap each: the value (before/after in the update phase) and the gradient
  const figures = [];
  const name = titleOf(node);
  if (node.kind === "param" && phase === "update" && param) {
    if (isTensor(param.before)) figures.push([t("inspector.before"), param.before, "value"]);
    if (isTensor(param.grad)) figures.push([t("inspector.grad"), param.grad, "grad"]);
    if (isTensor(param.after)) figures.push([t("inspector.after"), param.after, "value"]);
  } else {
    if (isTensor(node.value)) figures.push([t("inspector.value"), node.value, "value"]);
    if (gradKnown && (node.kind === "param" || node.kind === "op") && isTensor(node.grad)) {
      figures.push([t("inspector.grad"), node.grad, "grad"]);
    }
  }
  if (figures.length) html += `<h3>${esc(t("inspector.tensors"))}</h3><div class="tensors" data-testid="tensors"></div>`;

  if (node.grad_fn) {
    const f = LOCAL_DERIVATIVES[node.grad_fn];
    html += `<h3>${esc(t("inspector.local"))} · ${esc(node.grad_fn)}</h3>`;
    if (f) {
      html += `<p class="formula">${esc(f.f)}</p>`;
      for (const d of f.d) html += `<p class="formula">${esc(d)}</p>`;
    } else {
      html += `<p class="help">${esc(t("inspector.local.unknown", { fn: node.grad_fn }))}</p>`;
    }
  }

  if (node.kind === "param" && phase === "update" && param) {
    html += `<h3>update</h3><p class="formula">${esc(node.name)} ← ${esc(node.name)} − lr · ${esc(node.name)}.grad</p>`;
  }
  el.innerHTML = html;
  const holder = el.querySelector(".tensors");
  if (holder) {
    for (const [label, value, kind] of figures) holder.appendChild(tensorFigure(label, value, node.shape, { kind, name }));
  }
}

/** The chain rule into the node's inputs and out of its uses, with PyTorch's numbers (backward phase). */
function chainRule(step, node, nodes) {
  let html = "";
  {
    const ins = step.graph.edges.filter((e) => e.target === node.id && e.grad !== null);
    if (ins.length) {
      html += `<h3>${esc(t("inspector.chain"))}</h3>`;
      for (const e of ins.sort((a, b) => a.slot - b.slot)) {
        const src = nodes.get(e.source);
        const name = titleOf(src);
        html += `<div class="chain-row" data-edge="${esc(e.source)}"><span class="lbl">→ ${esc(name)} (input ${e.slot})</span>
          dL/d(${esc(titleOf(node))}) × ∂(${esc(titleOf(node))})/∂(${esc(name)}) = dL/d(${esc(name)})<br>
          ${claim(e, nodes)}</div>`;
      }
    }
    const outs = step.graph.edges.filter((e) => e.source === node.id && e.grad !== null);
    if (outs.length && !node.is_loss) {
      html += `<h3>${esc(t("inspector.chain.out"))}</h3>`;
      for (const e of outs) {
        const tgt = nodes.get(e.target);
        html += `<div class="chain-row"><span class="lbl">${esc(titleOf(tgt))} → ${esc(titleOf(node))}</span>
          ${claim(e, nodes)}</div>`;
      }
      if (outs.length > 1) html += `<p class="help">${esc(t("inspector.chain.sum"))}</p>`;
    }
  }
  return html;
}

/** What the edge's relation says, and only that: u × l = d for an elementwise edge, else the relation's formula. */
function claim(e, nodes) {
  const kind = e.relation && e.relation.kind;
  if (kind === "elementwise") {
    return `${part(nodes.get(e.target).grad)} × ${part(e.local)} = <span class="eq">${part(e.grad)}</span>`;
  }
  const rule = e.relation && e.relation.formula ? `${esc(e.relation.formula)} = ` : "";
  return `${rule}<span class="eq">${part(e.grad)}</span>`;
}
