/** Form building blocks shared by the views. */
import { formValues, h } from './dom.js';
import { errorText } from './i18n.js';

/**
 * A `<form>` that calls `onSubmit(values, submitter, formData)` (read before the fields are
 * disabled), is disabled meanwhile, and shows the error the call throws (a translated code, or
 * the server's detail, or what `describe(error)` says) beneath its fields.
 */
export function form(attrs, children, onSubmit, { describe = errorText } = {}) {
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'form-error', hidden: true });
  const fields = h('fieldset', { class: 'form-fields' }, children);
  const el = h('form', { ...attrs, novalidate: true }, fields, error);
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(el);
    error.hidden = true;
    fields.disabled = true;
    try {
      await onSubmit(formValues(data, el), event.submitter, data);
    } catch (failure) {
      error.textContent = describe(failure);
      error.hidden = false;
    } finally {
      fields.disabled = false;
    }
  });
  return el;
}

export function field(label, input) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input);
}

export function checkbox(label, attrs) {
  return h('label', { class: 'check' }, h('input', { type: 'checkbox', ...attrs }), h('span', {}, label));
}

/** A `<select>` of `[value, label]` pairs. */
export function select(attrs, options, selected) {
  return h('select', attrs, options.map(([value, label]) => h('option', { value, selected: value === selected }, label)));
}

export function button(label, attrs) {
  return h('button', { type: 'button', class: 'btn', ...attrs }, label);
}

/** Runs an action from a button, showing its failure in `errorEl`. */
export async function attempt(errorEl, action) {
  errorEl.hidden = true;
  try {
    await action();
  } catch (failure) {
    errorEl.textContent = errorText(failure);
    errorEl.hidden = false;
  }
}

export function errorLine() {
  return h('p', { class: 'form-error', role: 'alert', 'data-testid': 'action-error', hidden: true });
}
