/**
 * Browser notifications for messages from others that arrive while the tab is hidden. Permission
 * is asked only from a control the person clicks, never on load.
 */
import { navigate } from '../../core/router.js';
import { previewText } from './format.js';
import { chat, conversationById, myUserId } from './state.js';

const supported = () => 'Notification' in window;

/** Whether to offer the "turn on notifications" control. */
export const canAskForNotifications = () => supported() && Notification.permission === 'default';

export function askForNotifications() {
  return Notification.requestPermission();
}

export function notifyMessage(orgId, message) {
  if (!document.hidden || !supported() || Notification.permission !== 'granted') return;
  if (orgId !== chat.get().orgId || message.sender.userId === myUserId() || message.system) return;
  const conversation = conversationById(message.conversationId);
  if (!conversation) return;
  const body = conversation.kind === 'direct' ? previewText(message) : `${message.sender.name}: ${previewText(message)}`;
  const notification = new Notification(conversation.name, { body, tag: message.conversationId });
  notification.addEventListener('click', () => {
    window.focus();
    navigate(`/org/${orgId}/chat/${message.conversationId}`);
    notification.close();
  });
}
