/**
 * E-mail in the client: the organisation's SMTP server (owners and admins; the password is never
 * returned, only `passwordSet`) and what the signed-in member gets by e-mail. Plain requests: the
 * pages fetch when they open and nothing else shows these settings, so there is no store.
 */
import { api } from '../../core/api.js';

const settingsPath = (orgId) => `/api/v1/orgs/${orgId}/mail-settings`;
const preferencesPath = (orgId) => `/api/v1/orgs/${orgId}/me/email-preferences`;

/** The port each kind of security usually uses, in the order the form offers them. */
export const DEFAULT_PORTS = { starttls: 587, tls: 465, none: 25 };

/** `{ configured, host, port, security, username, passwordSet, fromAddress, fromName, updatedAt }`. */
export function fetchMailSettings(orgId) {
  return api.get(settingsPath(orgId));
}

/** `input` is a MailSettingsInput: leaving `password` out keeps the stored one. */
export function saveMailSettings(orgId, input) {
  return api.put(settingsPath(orgId), input);
}

/** Stops sending e-mail: the settings, password included, are removed. */
export function deleteMailSettings(orgId) {
  return api.delete(settingsPath(orgId));
}

/** Sends a test e-mail to the admin's own address now: `{ to, reply }`, or throws the problem. */
export function sendTestMail(orgId) {
  return api.post(`${settingsPath(orgId)}/test`);
}

/** `{ dings, mentions, announcements, address?, available }`. */
export function fetchEmailPreferences(orgId) {
  return api.get(preferencesPath(orgId));
}

export function saveEmailPreferences(orgId, { dings, mentions, announcements }) {
  return api.put(preferencesPath(orgId), { dings, mentions, announcements });
}
