/** Messages as short text: list previews, notifications, system lines, file sizes. */
import { formatDateTime, locale, t } from '../../core/i18n.js';

const names = (people = []) => people.map((p) => p.name).join(t('chat.nameSeparator'));

/** A system message (someone joined, left, renamed the group …) as a sentence. */
export function systemText({ event, actor, people, name, at }) {
  return t(`chat.system.${event}`, { actor: actor?.name ?? '', people: names(people), name: name ?? '', time: at ? formatDateTime(at) : '' });
}

/** What a message says, in one line: its text, or what it carries. */
export function previewText(message) {
  if (message.recalled) return t('chat.recalled');
  if (message.system) return systemText(message.system);
  if (message.kind === 'image') return t('chat.preview.image');
  if (message.kind === 'file') return t('chat.preview.file', { name: message.attachment?.name ?? '' });
  return message.text ?? '';
}

export function formatSize(bytes) {
  const [unit, value] = bytes >= 1024 ** 2 ? ['megabyte', bytes / 1024 ** 2] : bytes >= 1024 ? ['kilobyte', bytes / 1024] : ['byte', bytes];
  return new Intl.NumberFormat(locale.get().value, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: 1 }).format(value);
}

/** The local calendar day of a time, to group messages by day. */
export function dayOf(iso) {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}
