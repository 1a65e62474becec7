/**
 * The one WebSocket to /api/v1/events (protocol: docs/events.md). Keeps a cursor (the last seq
 * seen) per organisation, resumes from those cursors after every reconnect, drops events it has
 * already seen, and reconnects with exponential backoff and jitter.
 */
import { createStore } from './store.js';

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;

/**
 * `onEvent(event)` gets each new event; `onResync(orgId)` asks for an organisation's state to be
 * fetched afresh; `onConnected()` follows every connection, the first included (personal events
 * sent before it was open are not replayed, so the caller refetches what they would have changed);
 * `onResumed()` follows the end of every resume (events that are not in an organisation's log,
 * such as chat messages, are synced from then on); `onSessionEnded()` follows close code 4001; `isGapFree(orgId)` says whether this client sees
 * every seq of an organisation (admins do), so that a skipped number is a real gap.
 */
export function createSocket({ onEvent, onResync, onConnected, onResumed, onSessionEnded, isGapFree }) {
  /** `{ state }`: online | connecting | offline. */
  const connection = createStore({ state: 'offline' });
  const cursors = new Map();
  let socket = null;
  let running = false;
  let attempt = 0;
  let retryTimer;
  let heartbeat;
  let lastHeard = 0;

  function open() {
    clearTimeout(retryTimer);
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events`);
    socket = ws;
    ws.addEventListener('message', (message) => ws === socket && receive(message.data));
    ws.addEventListener('close', (event) => ws === socket && closed(event.code));
  }

  function send(message) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function receive(text) {
    lastHeard = Date.now();
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case 'hello':
        return greeted(message.data?.pingInterval ?? 30);
      case 'resumed':
        for (const [org, seq] of Object.entries(message.data?.cursors ?? {})) advance(org, seq);
        return onResumed();
      case 'resync':
        cursors.set(message.org, message.data?.latestSeq ?? 0);
        return onResync(message.org);
      case 'pong':
        return;
      default:
        return deliver(message);
    }
  }

  function greeted(pingInterval) {
    attempt = 0;
    send({ type: 'resume', cursors: Object.fromEntries(cursors) });
    startHeartbeat(pingInterval * 1000);
    connection.set({ state: 'online' });
    onConnected();
  }

  function deliver(event) {
    if (!event.org || event.seq == null) return onEvent(event);
    const cursor = cursors.get(event.org);
    if (cursor != null && event.seq <= cursor) return;
    if (cursor != null && event.seq > cursor + 1 && isGapFree(event.org)) return reconnect();
    cursors.set(event.org, event.seq);
    onEvent(event);
  }

  function advance(org, seq) {
    if (seq > (cursors.get(org) ?? -1)) cursors.set(org, seq);
  }

  function startHeartbeat(intervalMs) {
    clearInterval(heartbeat);
    heartbeat = setInterval(() => {
      if (Date.now() - lastHeard > 2 * intervalMs) reconnect();
      else send({ type: 'ping' });
    }, intervalMs);
  }

  function closed(code) {
    clearInterval(heartbeat);
    socket = null;
    if (!running) return;
    connection.set({ state: 'offline' });
    if (code === 4001) {
      running = false;
      return onSessionEnded();
    }
    if (!navigator.onLine) return;
    const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt++) * (0.5 + Math.random() / 2);
    retryTimer = setTimeout(open, delay);
  }

  /** Drops the current socket and connects again, resuming from the cursors. */
  function reconnect() {
    const old = socket;
    closed(1006);
    old?.close();
  }

  window.addEventListener('offline', () => running && socket && reconnect());
  window.addEventListener('online', () => {
    if (!running || socket) return;
    attempt = 0;
    open();
  });

  return {
    connection,
    start() {
      if (running) return;
      running = true;
      connection.set({ state: 'connecting' });
      open();
    },
    stop() {
      running = false;
      clearTimeout(retryTimer);
      const old = socket;
      socket = null;
      old?.close(1000);
      clearInterval(heartbeat);
      cursors.clear();
      connection.set({ state: 'offline' });
    },
    /**
     * Follows these organisations (`Organization`s), starting each new one at its `eventSeq`.
     * A followed one keeps its cursor: a fresher `eventSeq` may count events still on their way.
     */
    follow(organizations) {
      const ids = new Set(organizations.map((o) => o.id));
      for (const id of cursors.keys()) if (!ids.has(id)) cursors.delete(id);
      for (const o of organizations) if (o.eventSeq != null && !cursors.has(o.id)) cursors.set(o.id, o.eventSeq);
    },
  };
}
