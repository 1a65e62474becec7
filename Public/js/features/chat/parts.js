/** DOM pieces shared by the chat views: linkified text, highlighted matches, dialogs. */
import { h } from '../../core/dom.js';
import { t } from '../../core/i18n.js';

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"。，；：！？）】」』]+$/;

/** Plain text with http(s) addresses made into links; everything else stays text. */
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const raw = match[0].replace(TRAILING, '');
    let url;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    parts.push(text.slice(last, match.index), h('a', { href: url.href, rel: 'noopener noreferrer', target: '_blank' }, raw));
    last = match.index + raw.length;
  }
  parts.push(text.slice(last));
  return parts.filter((part) => part !== '');
}

/** Text with each occurrence of the query's words wrapped in `<mark>`. */
export function highlight(text, query) {
  const words = query.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (!words.length) return [text];
  return text.split(new RegExp(`(${words.join('|')})`, 'gi'))
    .map((part, i) => (i % 2 ? h('mark', {}, part) : part))
    .filter((part) => part !== '');
}

/** A modal `<dialog>` added to the page and removed when closed (also when the route changes). */
export function openDialog(title, body, testId) {
  const dialog = h('dialog', { class: 'chat-dialog', 'data-testid': testId, 'aria-label': title },
    h('header', { class: 'chat-dialog-head' },
      h('h2', {}, title),
      h('button', { type: 'button', class: 'btn chat-dialog-close', 'aria-label': t('common.close'), 'data-testid': 'dialog-close', onclick: () => dialog.close() }, '×')),
    body);
  const close = () => dialog.close();
  dialog.addEventListener('close', () => {
    window.removeEventListener('hashchange', close);
    dialog.remove();
  });
  window.addEventListener('hashchange', close);
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
