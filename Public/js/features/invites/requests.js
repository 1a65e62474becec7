/** The person's own join requests as notices: waiting for an admin, or declined (dismissable). */
import { h } from '../../core/dom.js';
import { button } from '../../core/forms.js';
import { t } from '../../core/i18n.js';
import { session } from '../auth/state.js';
import { dismissDeclined, waitingRequests } from './join-state.js';

/** `header`: short lines for the shell; `page`: sentences for the welcome page. */
const STYLES = {
  header: {
    tag: 'span', class: 'own-request', waitingId: 'pending-join', declinedId: 'declined-join',
    waiting: (org) => t('requests.waiting', { org }),
    declined: (org) => t('requests.declined', { org }),
  },
  page: {
    tag: 'p', class: 'own-request own-request-page', waitingId: 'join-waiting', declinedId: 'join-rejected',
    waiting: (org) => t('join.waiting', { org }),
    declined: (org) => t('join.rejected', { org }),
  },
};

export function ownRequestNotices(styleName, state = session.get()) {
  const style = STYLES[styleName];
  return [
    ...waitingRequests(state).map((pending) => h(style.tag, { class: style.class, 'data-state': 'waiting', 'data-testid': style.waitingId },
      style.waiting(pending.organizationName))),
    ...state.declinedJoinRequests.map((declined) => h(style.tag, { class: style.class, 'data-state': 'declined', 'data-testid': style.declinedId },
      declined.organizationName ? style.declined(declined.organizationName) : t('requests.declinedUnnamed'), ' ',
      button(t('common.dismiss'), { class: 'btn own-request-dismiss', 'data-testid': 'declined-dismiss', onclick: () => dismissDeclined(declined.orgId) }))),
  ];
}
