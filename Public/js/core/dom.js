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

const PASSWORD_NAMES = new Set(['password', 'currentPassword', 'newPassword']);

/** Whether a field keeps its value exactly as typed: passwords may begin or end with spaces. */
function keepsSpaces(form, name) {
  if (PASSWORD_NAMES.has(name)) return true;
  const control = form?.elements.namedItem(name);
  const controls = control instanceof RadioNodeList ? [...control] : [control];
  return controls.some((c) => c?.type === 'password');
}

/**
 * The fields of a form's data (the last value of repeated names), strings trimmed except those
 * of password fields (`type="password"` in `form`, or named password, currentPassword,
 * newPassword).
 */
export function formValues(data, form) {
  const values = {};
  for (const [key, value] of data) {
    values[key] = typeof value === 'string' && !keepsSpaces(form, key) ? value.trim() : value;
  }
  return values;
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
