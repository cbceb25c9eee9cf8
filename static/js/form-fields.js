// The DOM of one parameter field: its label, its control by kind, and the lines under it (help, error, pointer).

/** A label with room for its text, above its control. */
export function labelled(label, wrap) {
  const span = document.createElement("span");
  span.className = "label-text";
  label.appendChild(span);
  wrap.appendChild(label);
}

/** A checkbox inside its label. */
export function checkbox(label, wrap) {
  label.className = "check";
  const input = document.createElement("input");
  input.type = "checkbox";
  label.appendChild(input);
  const span = document.createElement("span");
  span.className = "label-text";
  label.appendChild(span);
  wrap.appendChild(label);
  return input;
}

export function choice(values, wrap) {
  const input = document.createElement("select");
  for (const v of values) {
    const o = document.createElement("option");
    o.value = String(v);
    o.textContent = String(v);
    input.appendChild(o);
  }
  wrap.appendChild(input);
  return input;
}

export function textInput(kind, wrap) {
  const input = document.createElement("input");
  input.type = "text";
  input.autocomplete = "off";
  input.spellcheck = false;
  if (kind === "int") input.inputMode = "numeric";
  else if (kind === "number" || kind === "list") input.inputMode = "decimal";
  wrap.appendChild(input);
  return input;
}

/** The help line, the error line (announced) and the expression's pointer under a field. */
export function fieldMessages(wrap, id) {
  const help = document.createElement("p");
  help.className = "help";
  help.id = `${id}-help`;
  const err = document.createElement("p");
  err.className = "field-error";
  err.id = `${id}-error`;
  err.setAttribute("data-testid", `${id}-error`);
  err.hidden = true;
  err.setAttribute("aria-live", "polite");
  // an expression's refusal points at the offending part of the text
  const where = document.createElement("pre");
  where.className = "expr-where";
  where.setAttribute("data-testid", `${id}-where`);
  where.hidden = true;
  wrap.append(help, err, where);
  return { help, err, where };
}
