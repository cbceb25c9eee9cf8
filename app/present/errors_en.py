"""Why an input is refused, in English: the `error.*` keys of app/problems.py's Problems.

`{what}` is the field or "element 3 of x"; identifiers (`x`, `lr`, function names) are given as they are typed.
The command line prints these words too, so the wording of our own messages is kept stable.
"""

from __future__ import annotations

ERRORS_EN: dict[str, str] = {
    # what a message is about
    "error.subject.element": "element {n} of {name}",
    # pydantic's checks, by their type
    "error.not_a_number": "{what} is not a number",
    "error.not_an_integer": "{what} is not a whole number",
    "error.not_whole": "{what} must be a whole number, without a fractional part",
    "error.too_large": "{what} is far too large",
    "error.not_finite": "{what} must be a finite number, not NaN or infinity",
    "error.greater_than": "{what} must be greater than {gt}",
    "error.at_least": "{what} must be at least {ge}",
    "error.less_than": "{what} must be less than {lt}",
    "error.at_most": "{what} must be at most {le}",
    "error.empty": "{what} is empty: give at least one value",
    "error.too_short": "{what} needs at least {min_length} values",
    "error.too_long": "{what} has {actual_length} values; at most {max_length} are allowed",
    "error.not_a_list": "{what} must be a list of numbers, e.g. 1, 2, 3",
    "error.not_pairs": "{what} must be name=number pairs, e.g. w=1.0",
    "error.not_an_object": "{what} must be a JSON object",
    "error.not_text": "{what} must be text",
    "error.not_a_bool": "{what} must be true or false",
    "error.missing": "{what} is required",
    "error.unknown_param": "{what} is not a parameter of this scenario",
    "error.unknown_field": "{what} is not a known field",
    "error.choice": "{what} must be one of {choices}",
    "error.json_invalid": "the body is not valid JSON",
    "error.invalid": "{what} is invalid: {text}",
    "error.plain": "{text}",
    "error.more": "... and {n} more errors",
    # our own checks across fields
    "error.pair_length": "y has {ny} values but x has {nx}: give one target per input",
    "error.too_many_steps": "epochs x data points must be at most {most}",
    "error.not_probability": "targets are probabilities: {what} is {value}, not between 0 and 1",
    # the custom scenario's parameters
    "error.params.not_pair": "`{item}` is not name=number, e.g. w=1.0",
    "error.params.write_pairs": "write each parameter as name=number, e.g. w=1.0",
    "error.params.none": "declare at least one parameter, e.g. w=1.0",
    "error.params.too_many": "at most {most} parameters; got {count}",
    "error.params.bad_name": "`{name}` is not a valid name: a letter, then letters, digits or _ (16 at most)",
    "error.params.reserved": "`{name}` is reserved: choose another parameter name",
    "error.params.unused": "{names}: not used in the model or the loss, so no gradient reaches it",
    "error.params.unused_by_loss": (
        "{names}: not used in the loss (which does not use y_hat), so no gradient reaches it"
    ),
    "error.cannot_compute": "cannot be computed: {reason}",
    "error.no_parameter": "does not depend on any parameter",
    # expressions (app/expr/check.py)
    "error.expr.not_text": "must be text, got {type}",
    "error.expr.empty": "is empty: type an expression such as `w*x + b`",
    "error.expr.too_long": "is too long: {length} characters, at most {most}",
    "error.expr.character": "character {char} is not allowed (column {column})",
    "error.expr.comment": "`#` is not allowed (column {column}): comments are not part of an expression",
    "error.expr.syntax": "syntax error (column {column}): {reason}",
    "error.expr.too_deep": "cannot be parsed: too deeply nested",
    "error.expr.refused": "`{part}` is not allowed (column {column}): {why}",
    "error.expr.allowed": "use numbers, {names}, + - * / ** and {functions}",
    "error.expr.no_attribute": "attribute access (`.`) is not part of the language; {allowed}",
    "error.expr.no_subscript": "subscripts (`[...]`) are not part of the language; {allowed}",
    "error.expr.no_lambda": "lambda is not part of the language; {allowed}",
    "error.expr.no_comprehension": "comprehensions are not part of the language; {allowed}",
    "error.expr.no_list": "lists are not part of the language; {allowed}",
    "error.expr.no_tuple": "tuples are not part of the language; {allowed}",
    "error.expr.no_set": "sets are not part of the language; {allowed}",
    "error.expr.no_dict": "dicts are not part of the language; {allowed}",
    "error.expr.no_compare": "comparisons are not part of the language; {allowed}",
    "error.expr.no_boolop": "`and`/`or` are not part of the language; {allowed}",
    "error.expr.no_ifexp": "`if`/`else` is not part of the language; {allowed}",
    "error.expr.no_walrus": "assignment (`:=`) is not part of the language; {allowed}",
    "error.expr.no_starred": "`*` unpacking is not part of the language; {allowed}",
    "error.expr.no_await": "`await` is not part of the language; {allowed}",
    "error.expr.no_yield": "`yield` is not part of the language; {allowed}",
    "error.expr.no_string": "strings are not part of the language; {allowed}",
    "error.expr.no_construct": "{construct} is not part of the language; {allowed}",
    "error.expr.too_many_parts": "the expression has more than {most} parts",
    "error.expr.too_nested": "nesting deeper than {most} levels",
    "error.expr.unary": "only unary - and + are allowed",
    "error.expr.no_strings": "strings are not part of the language; only real numbers",
    "error.expr.no_values": "{type} values are not part of the language; only real numbers",
    "error.expr.number_size": "numbers must be at most {most} in size",
    "error.expr.underscore": "names starting with `_` are never allowed",
    "error.expr.uncalled": "{name} is a function: call it, e.g. {name}(x)",
    "error.expr.unknown_name": "unknown name; known names are {names}",
    "error.expr.operator": "operator {op} is not allowed; use + - * / **",
    "error.expr.exponent": "a constant exponent must be a number between {low} and {high}",
    "error.expr.only_functions": "only the functions {functions} can be called",
    "error.expr.one_argument": "{name} takes exactly one argument, e.g. {name}(x)",
    # Python's syntax messages, the common ones
    "error.syntax.invalid": "invalid syntax",
    "error.syntax.never_closed": "'{char}' was never closed",
    "error.syntax.unmatched": "unmatched '{char}'",
    "error.syntax.bad_number": "a number written wrongly (e.g. `3x`: write `3*x`)",
    "error.syntax.unterminated_string": "unterminated string literal",
    "error.syntax.other": "{text}",
    # the web layer's refusals: unknown ids, ranges, limits, a busy server, rendering
    "error.unknown_scenario": "unknown scenario {name!r}: choose one of {choices}",
    "error.unknown_run_id": "unknown run id: {reason}",
    "error.run_id.invalid": "{text}",
    "error.run_id.bad_params": "its parameters are invalid ({field}: {problem})",
    "error.step_out_of_range": "step {step} is out of range: this run has steps 0 to {last}",
    "error.batch.order": "stop ({stop}) must be greater than start ({start})",
    "error.batch.too_many": "at most {limit} steps per call: stop - start is {count}",
    "error.batch.past_end": "start ({start}) is past the last step ({last})",
    "error.batch.big_steps": (
        "at most {most} steps of this run per call (its steps are big: max_batch_bytes): stop - start is {count}"
    ),
    "error.batch.big_labels": (
        "at most {most} steps of this run per call (its labels are big: max_batch_bytes): stop - start is {count}"
    ),
    "error.batch.bytes": "at most {most} steps of this run per call (max_batch_bytes)",
    "error.cost.too_high": (
        "this run costs {cost:,} (steps x graph size: {steps:,} x {nodes} nodes),"
        " more than the limit of {limit:,}; at most {most:,} steps for this graph"
    ),
    "error.cost.memory": "this run's history would take {mib:.0f} MiB, more than the {budget:.0f} MiB kept",
    "error.no_node": "step {step} has no node {node!r}",
    "error.page_missing": "the page is not installed (templates/index.html is missing)",
    "error.collapse.unknown": "{field}: unknown module {modules}; this graph's modules: {have}",
    "error.collapse.no_modules": "none",
    "error.collapse.not_names": "{field} must be module names (a list or a comma-separated string)",
    "error.collapse.not_name": "{field} must be module names, got {type}",
    "error.lane.light": "light",
    "error.lane.heavy": "heavy",
    "error.lane.png": "png",
    "error.busy.lane": "the server is busy ({lane} work: {inside} computing or queued); retry later",
    "error.busy.client": "too much {lane} work from one client ({count} in progress); retry later",
    "error.busy.waited": "the server is busy ({lane} work): waited {seconds:g} s for a slot",
    "error.busy.memory": "the server's memory for runs in progress is taken; retry later",
    "error.cancelled": "cancelled: {reason}",
    "error.run_stopped": "the run stopped",
    "error.graphviz_missing": (
        "Graphviz's `dot` was not found on PATH; install Graphviz "
        "(Debian/Ubuntu: `sudo apt-get install graphviz`, macOS: `brew install graphviz`) and try again."
    ),
    "error.render_failed": "{text}",
    "error.body_too_large": "request body is larger than {most} bytes",
    "error.invalid_request": "invalid request",
    "error.http.not_found": "Not Found",
    "error.http.method": "Method Not Allowed",
    "error.internal": "internal error; the server log has the details",
}
