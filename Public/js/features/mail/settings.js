/**
 * The admins' "E-mail (SMTP)" page: the organisation's SMTP server (the password is write-only:
 * never shown, never prefilled, kept when left empty), a test e-mail to one's own address with the
 * server's answer, and stopping e-mail altogether. The server validates; its problems are shown
 * beside the fields they name.
 */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine, field, form, select } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { settingsTabs } from '../orgs/tabs.js';
import { DEFAULT_PORTS, deleteMailSettings, fetchMailSettings, saveMailSettings, sendTestMail } from './state.js';

const SECURITIES = Object.keys(DEFAULT_PORTS);
const FIELDS = ['host', 'port', 'security', 'username', 'password', 'fromAddress', 'fromName'];
/** Problems that are about one field although the server sends no `errors` list for them. */
const FIELD_OF_CODE = { insecure_auth: 'security' };

/** A problem's text for one field: a translated code when there is one, else the server's words. */
function fieldMessage(problem, fieldProblem) {
  const known = [`error.${problem.code}`, `invalid.${fieldProblem?.code ?? problem.code}`].find((key) => t(key) !== key);
  return known ? t(known) : fieldProblem?.message ?? errorText(problem);
}

/** `{ field: message }` for the fields a refused save names. */
function fieldProblems(problem) {
  const named = (problem?.errors ?? []).filter((e) => FIELDS.includes(e.field));
  if (named.length) return Object.fromEntries(named.map((e) => [e.field, fieldMessage(problem, e)]));
  const only = FIELD_OF_CODE[problem?.code];
  return only ? { [only]: fieldMessage(problem) } : {};
}

/** A labelled input with room for the server's problem with it underneath. */
function problemField(label, input, name, ...extra) {
  const problem = h('p', { class: 'field-error', 'data-testid': `mail-error-${name}`, hidden: true });
  return { el: h('div', { class: 'mail-field' }, field(label, input), extra, problem), input, problem };
}

/** Beneath the form: "correct the marked fields" when every problem is beside its field. */
function formProblemText(problem) {
  const marked = Object.keys(fieldProblems(problem)).length;
  return marked && marked >= (problem.errors?.length ?? 0) ? t('mail.fixFields') : errorText(problem);
}

function showProblems(fields, problems) {
  for (const [name, { input, problem }] of Object.entries(fields)) {
    const message = problems[name];
    problem.textContent = message ?? '';
    problem.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

function settingsForm(orgId, settings, show) {
  const configured = settings.configured;
  const chosenSecurity = configured ? settings.security : 'starttls';
  const hint = h('span', { class: 'mail-hint', 'data-testid': 'mail-port-hint' }, t(`mail.portHint.${chosenSecurity}`));
  const port = h('input', {
    type: 'number', name: 'port', min: 1, max: 65535, required: true, 'data-testid': 'mail-port',
    value: configured ? settings.port : DEFAULT_PORTS[chosenSecurity],
  });
  const security = select({
    name: 'security',
    'data-testid': 'mail-security',
    onchange: (event) => {
      const chosen = event.target.value;
      // A port the admin typed is theirs; one that is still some security's default follows the choice.
      if (port.value === '' || Object.values(DEFAULT_PORTS).includes(Number(port.value))) port.value = DEFAULT_PORTS[chosen];
      hint.textContent = t(`mail.portHint.${chosen}`);
    },
  }, SECURITIES.map((s) => [s, t(`mail.security.${s}`)]), chosenSecurity);
  const text = (name, attrs = {}) => h('input', { name, value: configured ? settings[name] ?? '' : '', 'data-testid': `mail-${name}`, ...attrs });
  // Never prefilled: the server does not return it. Empty keeps the stored one (an empty username
  // drops it).
  const password = h('input', {
    type: 'password', name: 'password', autocomplete: 'new-password', 'data-testid': 'mail-password',
    placeholder: settings.passwordSet ? t('mail.passwordStored') : null,
  });
  const stored = settings.passwordSet && h('span', { class: 'mail-hint', 'data-testid': 'mail-password-stored' }, t('mail.passwordStoredNote'));
  const fields = {
    host: problemField(t('mail.host'), text('host', { required: true, autocomplete: 'off', placeholder: 'smtp.example.com' }), 'host'),
    security: problemField(t('mail.security'), security, 'security'),
    port: problemField(t('mail.port'), port, 'port', hint),
    username: problemField(t('mail.username'), text('username', { autocomplete: 'off' }), 'username', h('span', { class: 'mail-hint' }, t('mail.usernameHint'))),
    password: problemField(t('mail.password'), password, 'password', stored),
    fromAddress: problemField(t('mail.fromAddress'), text('fromAddress', { type: 'email', required: true, placeholder: 'office@example.com' }), 'fromAddress'),
    fromName: problemField(t('mail.fromName'), text('fromName'), 'fromName'),
  };
  return form({ class: 'orgs-form mail-form', 'data-testid': 'mail-form' }, [
    h('div', { class: 'mail-server' }, fields.host.el, fields.security.el, fields.port.el),
    fields.username.el, fields.password.el, fields.fromAddress.el, fields.fromName.el,
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'mail-save' }, t('common.save')),
  ], async (values) => {
    showProblems(fields, {});
    const input = {
      host: values.host,
      port: Number(values.port),
      security: values.security,
      username: values.username,
      fromAddress: values.fromAddress,
      fromName: values.fromName,
    };
    if (values.password) input.password = values.password;
    try {
      show(await saveMailSettings(orgId, input), 'saved');
    } catch (failure) {
      showProblems(fields, fieldProblems(failure));
      throw failure;
    }
  }, { describe: formProblemText });
}

/** The test's failure: the SMTP server's own answer when it refused, else the problem. */
function testProblemText(failure) {
  return failure.code === 'mail_failed' ? t('mail.test.failed', { detail: failure.detail ?? '' }) : errorText(failure);
}

function testSection(orgId) {
  const result = h('div', { class: 'mail-test-result', role: 'status', 'data-testid': 'mail-test-result', hidden: true });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'mail-test-error', hidden: true });
  const send = button(t('mail.test.send'), {
    'data-testid': 'mail-test',
    onclick: async () => {
      result.hidden = true;
      error.hidden = true;
      send.disabled = true;
      send.textContent = t('mail.test.sending');
      try {
        const { to, reply } = await sendTestMail(orgId);
        result.replaceChildren(
          h('p', {}, t('mail.test.sentTo'), ' ', h('strong', { 'data-testid': 'mail-test-to' }, to)),
          h('p', {}, t('mail.test.reply'), ' ', h('code', { class: 'mail-reply', 'data-testid': 'mail-test-reply' }, reply)));
        result.hidden = false;
      } catch (failure) {
        error.textContent = testProblemText(failure);
        error.hidden = false;
      } finally {
        send.disabled = false;
        send.textContent = t('mail.test.send');
      }
    },
  });
  return h('div', { class: 'mail-section', 'data-testid': 'mail-test-section' },
    h('h3', {}, t('mail.test.title')), h('p', { class: 'mail-note' }, t('mail.test.lead')), send, result, error);
}

function stopSection(orgId, show) {
  const error = errorLine();
  const stop = () => window.confirm(t('mail.stopConfirm')) && attempt(error, async () => {
    await deleteMailSettings(orgId);
    show({ configured: false }, 'stopped');
  });
  return h('div', { class: 'mail-section' },
    h('h3', {}, t('mail.stop')), h('p', { class: 'mail-note' }, t('mail.stopLead')),
    button(t('mail.stop'), { class: 'btn btn-danger', 'data-testid': 'mail-delete', onclick: stop }), error);
}

function statusLine(settings) {
  const text = settings.configured
    ? t('mail.status.on', { server: `${settings.host}:${settings.port}` })
    : t('mail.status.off');
  return h('p', { class: 'mail-status', 'data-configured': String(settings.configured), 'data-testid': 'mail-status' },
    text, settings.updatedAt ? ` ${t('mail.status.updated', { time: formatDateTime(settings.updatedAt) })}` : '');
}

function content(orgId, settings, show, notice) {
  return [
    statusLine(settings),
    notice && h('p', { class: 'orgs-saved', role: 'status', 'data-testid': `mail-${notice}` }, t(`mail.notice.${notice}`)),
    h('p', { class: 'mail-note' }, t('mail.settings.lead')),
    settingsForm(orgId, settings, show),
    settings.configured && [testSection(orgId), stopSection(orgId, show)],
  ];
}

/** The page (owners and admins; the route checks). */
export function mailSettingsView(root, { orgId }) {
  let shown = true;
  const body = h('div', { class: 'mail-body' }, h('p', { class: 'mail-note' }, t('common.loading')));
  const show = (settings, notice) => shown && body.replaceChildren(...content(orgId, settings, show, notice).flat().filter(Boolean));
  root.append(h('section', { class: 'orgs mail', 'data-testid': 'mail-settings-page' },
    h('h1', { class: 'orgs-title' }, t('orgs.settings.title')),
    settingsTabs(orgId, 'mail'),
    h('div', { class: 'orgs-card' }, h('h2', {}, t('mail.settings.title')), body)));
  fetchMailSettings(orgId).then(
    (settings) => show(settings),
    (error) => shown && body.replaceChildren(h('p', { class: 'form-error', role: 'alert', 'data-testid': 'mail-load-error' }, errorText(error))),
  );
  return () => {
    shown = false;
  };
}
