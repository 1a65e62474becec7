/**
 * Rows of tabs over a section's pages: `tabBar` for any section, and the tabs over the admins'
 * settings pages (the organisation itself, and its e-mail server).
 */
import { h } from '../../core/dom.js';
import { t } from '../../core/i18n.js';

/**
 * Links as tabs; `tabs`: `[key, href, label]`, `current`: the key of the page shown. Test ids:
 * `<prefix>-tabs` and `<prefix>-tab-<key>`.
 */
export function tabBar(label, prefix, tabs, current) {
  return h('nav', { class: 'tabs', 'aria-label': label, 'data-testid': `${prefix}-tabs` },
    tabs.map(([key, href, text]) => h('a', {
      class: 'tab', href, 'aria-current': key === current ? 'page' : null, 'data-testid': `${prefix}-tab-${key}`,
    }, text)));
}

/** `current`: the key of the page shown (`general` or `mail`). */
export function settingsTabs(orgId, current) {
  return tabBar(t('orgs.settings.title'), 'settings', [
    ['general', `#/org/${orgId}/settings`, t('orgs.settings.general')],
    ['mail', `#/org/${orgId}/settings/mail`, t('mail.settings.tab')],
  ], current);
}
