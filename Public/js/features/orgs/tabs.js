/** The tabs over the admins' settings pages: the organisation itself, and its e-mail server. */
import { h } from '../../core/dom.js';
import { t } from '../../core/i18n.js';

const TABS = [
  ['general', '', 'orgs.settings.general'],
  ['mail', '/mail', 'mail.settings.tab'],
];

/** `current`: the key of the page shown (`general` or `mail`). */
export function settingsTabs(orgId, current) {
  return h('nav', { class: 'orgs-tabs', 'aria-label': t('orgs.settings.title'), 'data-testid': 'settings-tabs' },
    TABS.map(([key, suffix, label]) => h('a', {
      class: 'orgs-tab',
      href: `#/org/${orgId}/settings${suffix}`,
      'aria-current': key === current ? 'page' : null,
      'data-testid': `settings-tab-${key}`,
    }, t(label))));
}
