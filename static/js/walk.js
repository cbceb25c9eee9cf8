// The walks through one step: forward op by op (in the order the forward pass computed them), then backward
// node by node in autograd's order (`order`). `reveal` counts the nodes done; null means all of them.

const ranks = new WeakMap(); // step -> Map(node id -> forward rank)

/** Forward ranks of the op nodes: autograd's order reversed (the loss, computed last, has the highest). */
export function forwardRanks(step) {
  let m = ranks.get(step);
  if (m) return m;
  const ops = step.graph.nodes.filter((n) => n.kind === "op");
  ops.sort((a, b) => (b.order ?? -1) - (a.order ?? -1));
  m = new Map(ops.map((n, i) => [n.id, i]));
  ranks.set(step, m);
  return m;
}

export function forwardCount(step) {
  return step ? forwardRanks(step).size : 0;
}

/** "pending" (not computed yet), "current" (being computed) or "" for a node in a walk. */
export function walkState(step, node, { phase, reveal }) {
  if (reveal === null || reveal === undefined || !node) return "";
  let rank = null;
  if (phase === "backward") rank = node.order;
  else if (phase === "forward") rank = forwardRanks(step).get(node.id);
  if (rank === null || rank === undefined) return "";
  if (rank >= reveal) return "pending";
  return rank === reveal - 1 ? "current" : "";
}
