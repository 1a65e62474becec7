/** The join page `#/join/<code>`: preview the organisation, sign up or in if needed, then join. */
import { h } from '../../core/dom.js';
import { attempt, button, errorLine } from '../../core/forms.js';
import { errorText, formatDateTime, t } from '../../core/i18n.js';
import { navigate } from '../../core/router.js';
import { watch } from '../../core/store.js';
import { session } from '../auth/state.js';
import { acceptInvitation, dismissDeclined, joining, previewInvitation, rememberedJoin, rememberJoin } from './join-state.js';

function failure(error) {
  if (error.status === 404) return t('join.notFound');
  if (error.status === 410) return t('join.expired');
  return errorText(error);
}

function previewCard(code, preview) {
  const signedIn = session.get().status === 'signedIn';
  const error = errorLine();
  const continueWith = (path) => {
    rememberJoin(code);
    navigate(path);
  };
  return [
    h('h1', { class: 'join-title', 'data-testid': 'join-org' }, t('join.invited', { org: preview.organizationName })),
    h('p', { class: 'join-facts' }, t(`orgKind.${preview.organizationKind}`), ' · ', t('join.expires', { date: formatDateTime(preview.expiresAt) })),
    preview.requiresApproval && h('p', { class: 'join-note' }, t('join.needsApproval')),
    signedIn
      ? button(t('join.accept', { org: preview.organizationName }), {
        class: 'btn btn-primary', 'data-testid': 'join-accept', onclick: () => attempt(error, () => acceptInvitation(code)),
      })
      : h('div', { class: 'join-auth' },
        h('p', {}, t('join.signInFirst')),
        button(t('auth.signup.link'), { class: 'btn btn-primary', 'data-testid': 'join-signup', onclick: () => continueWith('/signup') }),
        button(t('auth.signin.link'), { 'data-testid': 'join-signin', onclick: () => continueWith('/signin') })),
    error,
  ];
}

function content(code, { status, preview, organization, error }) {
  switch (status) {
    case 'loading':
      return [h('p', {}, t('common.loading'))];
    case 'failed':
      return [h('p', { class: 'join-error', 'data-testid': 'join-error' }, failure(error)), h('a', { href: '#/' }, t('join.home'))];
    case 'pending':
      return [h('p', { class: 'join-waiting', 'data-testid': 'join-waiting' }, t('join.waiting', { org: organization.name }))];
    case 'rejected':
      return [h('p', { class: 'join-error', 'data-testid': 'join-rejected' }, t('join.rejected', { org: organization.name }))];
    default:
      return previewCard(code, preview);
  }
}

export function joinView(root, { code }) {
  previewInvitation(code);
  const card = h('div', { class: 'join-card' });
  root.append(h('section', { class: 'join', 'data-testid': 'join-page' }, card));
  return watch(joining, (s) => [s.status, s.preview, s.error], () => {
    const state = joining.get();
    if (state.status === 'joined') return navigate(`/org/${state.organization.id}`);
    card.replaceChildren(...content(code, state).filter(Boolean));
    // Told here, so the header need not tell again.
    if (state.status === 'rejected') dismissDeclined(state.organization.id);
    if (state.status === 'ready' && session.get().status === 'signedIn' && rememberedJoin() === code) {
      acceptInvitation(code).catch((error) => joining.set({ status: 'failed', error }));
    }
  });
}
