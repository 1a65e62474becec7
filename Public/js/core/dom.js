/**
 * Builds an element. Text children become text nodes, never HTML. Attributes named `on<event>`
 * become listeners; `true` sets an empty attribute, `false`/`null` omit it; `value`, `checked`
 * and `selected` are set as properties.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value == null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'value' || name === 'checked' || name === 'selected') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return el;
}

/** The fields of a form's data (the last value of repeated names), strings trimmed. */
export function formValues(data) {
  const values = {};
  for (const [key, value] of data) values[key] = typeof value === 'string' ? value.trim() : value;
  return values;
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
