/** The one place that maps server event types (docs/events.md) to feature state updates. */
import * as announcements from './features/announcements/state.js';
import { loadMe } from './features/auth/state.js';
import * as chat from './features/chat/state.js';
import { notifyMessage } from './features/chat/notify.js';
import * as thread from './features/chat/thread.js';
import { notifyDing } from './features/ding/banner.js';
import * as ding from './features/ding/state.js';
import * as directory from './features/directory/state.js';
import * as health from './features/health/state.js';
import * as invites from './features/invites/state.js';
import * as live from './features/live/state.js';
import * as liveChat from './features/live/chat-state.js';
import { membershipAdded, ownJoinRequestUpdated } from './features/invites/join-state.js';
import * as orgs from './features/orgs/state.js';

const handlers = {
  'org.updated': ({ data }) => orgs.updateOrganization(data),
  'department.created': ({ org, data }) => directory.upsertDepartment(org, data),
  'department.updated': ({ org, data }) => directory.upsertDepartment(org, data),
  'department.deleted': ({ org, data }) => directory.removeDepartment(org, data.id),
  'member.joined': ({ org, data }) => directory.upsertMember(org, data),
  'member.updated': ({ org, data }) => {
    directory.upsertMember(org, data);
    orgs.updateOwnMember(data);
  },
  'member.left': ({ org, data }) => {
    directory.removeMember(org, data.id);
    orgs.memberLeft(org, data.userId);
  },
  'members.imported': ({ org }) => directory.refetch(org),
  'invitation.created': ({ org, data }) => invites.upsertInvitation(org, data),
  'invitation.revoked': ({ org, data }) => invites.upsertInvitation(org, data),
  'joinRequest.created': ({ org, data }) => invites.upsertJoinRequest(org, data),
  'joinRequest.updated': ({ org, data }) => (org ? invites.upsertJoinRequest(org, data) : ownJoinRequestUpdated(data)),
  'membership.added': ({ data }) => {
    orgs.addMembership(data);
    membershipAdded(data.organization.id);
  },
  'membership.removed': ({ data }) => orgs.removeMembership(data.orgId),
  'message.created': ({ org, data }) => {
    chat.messageCreated(org, data);
    thread.messageCreated(org, data);
    notifyMessage(org, data);
  },
  'message.recalled': messageChanged,
  'message.pinned': messageChanged,
  'message.unpinned': messageChanged,
  // Personal chat events (the person's own): the data says which organisation or conversation.
  'conversation.added': ({ data }) => chat.conversationAdded(data.orgId, data),
  'conversation.updated': ({ org, data }) => chat.conversationUpdated(org, data),
  'conversation.removed': ({ data }) => chat.conversationRemoved(data),
  'conversation.read': ({ data }) => chat.conversationRead(data),
  'receipts.updated': ({ data }) => thread.receiptsUpdated(data),
  // DING events are personal too: the DING names its organisation.
  'ding.received': ({ data }) => {
    ding.dingReceived(data);
    notifyDing(data);
  },
  'ding.confirmed': ({ data }) => ding.dingConfirmed(data),
  'ding.attempt': ({ data }) => ding.dingAttempt(data),
  // Announcements: personal events name their organisation in the data; admins' ones carry `org`.
  'announcement.published': ({ data }) => announcements.published(data.orgId, data),
  'announcement.read': ({ data }) => announcements.readByMe(data),
  'announcement.pinned': ({ data }) => announcements.pinnedChanged(data),
  'announcement.updated': ({ org, data }) => announcements.updated(org, data),
  'announcement.stats': ({ org, data }) => announcements.statsChanged(org, data),
  // Health events are personal; the organisation is the event's `org` (or the data's `orgId`).
  'health.reminder': ({ org, data }) => health.reminded(org ?? data.orgId, data),
  'health.submitted': ({ org, data }) => health.submitted(org ?? data.orgId, data),
  // Live classes: sent to the class's groups; the open class page fetches it afresh.
  'live.updated': ({ data }) => live.classChanged(data),
  'live.comment': ({ data }) => liveChat.commentChanged(data),
  'live.liked': ({ data }) => liveChat.liked(data),
};

function messageChanged({ org, data }) {
  chat.messageChanged(org, data);
  thread.messageChanged(org, data);
}

/**
 * Chat, DING, announcement and health events are not in an organisation's log: after every
 * (re)connection, the conversations are fetched afresh and the open one is synced from its
 * cursor, and the unconfirmed DINGs (the banners), the DING page, the announcements in view and
 * today's health reports are fetched afresh (docs/events.md).
 */
export async function caughtUp() {
  ding.resyncDings();
  announcements.resyncAnnouncements();
  health.resyncHealth();
  live.resyncLive();
  liveChat.resyncChat();
  await chat.loadConversations();
  await thread.syncThread();
}

export function dispatch(event) {
  handlers[event.type]?.(event);
}

/** The server no longer has the events after our cursor: fetch the organisation afresh. */
export function resync(orgId) {
  // The organisation's name and one's role; if this fails, the next reconnect refreshes them.
  loadMe().catch(() => {});
  directory.refetch(orgId);
  invites.refetch(orgId);
}
