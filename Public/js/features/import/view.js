/** Admins: import members from a CSV file; a refused file shows its bad rows. */
import { h } from '../../core/dom.js';
import { field, form } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { watch } from '../../core/store.js';
import { importer, importMembers, resetImport } from './state.js';

const SAMPLE = 'name,email,phone,department,title,role\nLi Lei,lilei@example.com,,Grade 8/Class 2,Student,member';

function summary(result) {
  const counts = { rows: result.rows, created: result.created, updated: result.updated, departments: result.departmentsCreated };
  return h('div', { class: 'import-result', 'data-testid': 'import-result', 'data-dry-run': result.dryRun || null },
    h('p', {}, t(result.dryRun ? 'import.checked' : 'import.done', counts)));
}

function rowErrors(errors) {
  return h('div', { class: 'import-errors' },
    h('p', { class: 'form-error', role: 'alert' }, t('import.refused', { count: errors.length })),
    h('div', { class: 'import-scroll' },
      h('table', { class: 'import-table', 'data-testid': 'import-errors' },
        h('thead', {}, h('tr', {}, h('th', {}, t('import.column.row')), h('th', {}, t('import.column.field')), h('th', {}, t('import.column.problem')))),
        h('tbody', {}, errors.map((e) => h('tr', { 'data-testid': 'import-error-row' },
          h('td', {}, e.row ?? ''), h('td', {}, e.field ?? ''), h('td', {}, e.message)))))));
}

export function importView(root, { orgId }) {
  resetImport();
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,text/csv', 'data-testid': 'import-file' });
  const outcome = h('div', { class: 'import-outcome' });
  root.append(h('section', { class: 'import', 'data-testid': 'import-page' },
    h('h1', { class: 'import-title' }, t('import.title')),
    h('div', { class: 'import-card' },
      h('p', {}, t('import.lead')),
      h('pre', { class: 'import-sample' }, SAMPLE),
      form({ class: 'import-form', 'data-testid': 'import-form' }, [
        field(t('import.file'), file),
        h('div', { class: 'import-actions' },
          h('button', { type: 'submit', value: 'check', class: 'btn', 'data-testid': 'import-check' }, t('import.check')),
          h('button', { type: 'submit', value: 'import', class: 'btn btn-primary', 'data-testid': 'import-submit' }, t('import.submit'))),
      ], async (values, submitter) => {
        if (!file.files.length) throw Object.assign(new Error('no file'), { code: 'import_no_file' });
        await importMembers(orgId, await file.files[0].text(), submitter?.value === 'check');
      })),
    outcome));
  return watch(importer, (s) => [s.result, s.rowErrors, s.error], ([result, errors, error]) => {
    if (result) outcome.replaceChildren(summary(result));
    else if (errors.length) outcome.replaceChildren(rowErrors(errors));
    else outcome.replaceChildren(...(error ? [h('p', { class: 'form-error', role: 'alert' }, errorText(error))] : []));
  });
}
