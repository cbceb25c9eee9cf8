// Text into HTML: the one escaper for panels that write markup from server strings (names may hold < or ").

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}
