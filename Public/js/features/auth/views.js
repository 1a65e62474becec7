/** Sign-in and sign-up screens. Success changes the session; the app then routes onwards. */
import { h } from '../../core/dom.js';
import { field, form } from '../../core/forms.js';
import { locale, t } from '../../core/i18n.js';
import { signIn, signUp } from './state.js';

function loginInput(autocomplete) {
  return h('input', { name: 'login', autocomplete, required: true, 'data-testid': 'login' });
}

function passwordInput(autocomplete) {
  return h('input', { name: 'password', type: 'password', autocomplete, required: true, 'data-testid': 'password' });
}

function page(testId, title, lead, body, footer) {
  return h('section', { class: 'auth', 'data-testid': testId },
    h('div', { class: 'auth-card' }, h('h1', { class: 'auth-title' }, title), h('p', { class: 'auth-lead' }, lead), body),
    h('p', { class: 'auth-switch' }, footer));
}

export function signInView(root) {
  root.append(page('signin-page', t('auth.signin.title'), t('auth.signin.lead'),
    form({ class: 'auth-form', 'data-testid': 'signin-form' }, [
      field(t('auth.login'), loginInput('username')),
      field(t('auth.password'), passwordInput('current-password')),
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'signin-submit' }, t('auth.signin.submit')),
    ], signIn),
    [t('auth.signin.noAccount'), ' ', h('a', { href: '#/signup', 'data-testid': 'to-signup' }, t('auth.signup.link'))]));
}

export function signUpView(root) {
  root.append(page('signup-page', t('auth.signup.title'), t('auth.signup.lead'),
    form({ class: 'auth-form', 'data-testid': 'signup-form' }, [
      field(t('auth.name'), h('input', { name: 'name', autocomplete: 'name', required: true, 'data-testid': 'name' })),
      field(t('auth.login'), loginInput('username')),
      field(t('auth.newPassword'), passwordInput('new-password')),
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'signup-submit' }, t('auth.signup.submit')),
    ], (values) => signUp(values, locale.get().value)),
    [t('auth.signup.haveAccount'), ' ', h('a', { href: '#/signin', 'data-testid': 'to-signin' }, t('auth.signin.link'))]));
}
