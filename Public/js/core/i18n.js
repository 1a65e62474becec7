/** Translations: `t(key, vars)` over the dictionary of the current locale (en or zh-CN). */
import { createStore } from './store.js';

const STORAGE_KEY = 'tack.locale';
export const LOCALES = ['en', 'zh-CN'];

/** `{ value }`: the current locale; views re-render when it changes. */
export const locale = createStore({ value: 'en' });
let dictionary = {};

/** The locale the person chose on this device, if any. */
export function savedLocale() {
  const saved = localStorage.getItem(STORAGE_KEY);
  return LOCALES.includes(saved) ? saved : undefined;
}

export function browserLocale() {
  const first = navigator.languages?.[0] ?? navigator.language ?? 'en';
  return /^zh/i.test(first) ? 'zh-CN' : 'en';
}

/** Loads a dictionary and makes it current; `remember` keeps the choice on this device. */
export async function setLocale(value, { remember = false } = {}) {
  if (!LOCALES.includes(value)) return;
  if (remember) localStorage.setItem(STORAGE_KEY, value);
  if (value === locale.get().value && Object.keys(dictionary).length) return;
  const response = await fetch(`/i18n/${value}.json`);
  dictionary = await response.json();
  document.documentElement.lang = value;
  document.title = dictionary['app.title'];
  locale.set({ value });
}

export function t(key, vars) {
  const text = dictionary[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (match, name) => String(vars[name] ?? match)) : text;
}

export function formatDateTime(iso) {
  return new Intl.DateTimeFormat(locale.get().value, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export function formatDate(iso) {
  return new Intl.DateTimeFormat(locale.get().value, { dateStyle: 'medium' }).format(new Date(iso));
}

export function formatTime(iso) {
  return new Intl.DateTimeFormat(locale.get().value, { timeStyle: 'short' }).format(new Date(iso));
}

/**
 * The text to show for a failed request: a translated known code (or, for a validation error,
 * the known code of its first field), else the server's detail.
 */
export function errorText(error) {
  if (error?.retryAfterMs > 60_000) return t('error.busyFor', { minutes: Math.ceil(error.retryAfterMs / 60_000) });
  const keys = [`error.${error?.code}`, `invalid.${error?.errors?.[0]?.code}`];
  const known = keys.find((key) => key in dictionary);
  return known ? dictionary[known] : error?.detail || t('error.generic');
}
