/**
 * A small client for the Janus WebRTC server's JSON API over WebSocket (subprotocol
 * "janus-protocol"), VideoRoom plugin only. No dependencies, no adapter.
 *
 *   const janus = await JanusSession.connect(url, { token });
 *   const publication = await janus.publish(room, cameraStream, { display: 'Teacher' });
 *   const subscription = await janus.subscribe(room, publication.feed);  // .stream: remote media
 *   await janus.close();
 *
 * One Janus session per connection; each PeerConnection gets a handle of its own (Janus requires
 * a publisher and each subscription to live on separate handles). ICE is trickled both ways. The
 * `token` (added for this participant by the server through the Janus admin API) goes with every
 * request; a browser never holds the API secret.
 *
 * Events dispatched on the session (an EventTarget), `detail` as shown:
 *   'publishers'  { room, publishers: [{ id, display }] }  feeds seen by this session's publisher
 *                                                          handles, at join and as they appear
 *   'unpublished' { room, feed }                           a feed went away
 *   'webrtcup'    { handle }                               a PeerConnection is up (ICE + DTLS)
 *   'hangup'      { handle, reason }                       Janus closed a PeerConnection
 *   'gone'        { handle, feed }                         a subscription's feed stopped publishing
 *                                                          (its publisher left or dropped): nothing
 *                                                          more comes on that handle; subscribe
 *                                                          again once the feed is back
 *   'closed'      {}                                       the WebSocket closed; Janus ends the
 *                                                          session with it, so every PeerConnection
 *                                                          of the session is closed too
 */

const VIDEOROOM = 'janus.plugin.videoroom';
const KEEPALIVE_MS = 25_000; // Janus ends a session after 60 s without a request
const REQUEST_TIMEOUT_MS = 15_000;

/** A Janus error reply, or a VideoRoom error event; `code` is Janus's numeric error code. */
export class JanusError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'JanusError';
    this.code = code;
  }
}

export class JanusSession extends EventTarget {
  #ws;
  #token;
  #iceServers;
  #sessionId;
  #nextTransaction = 1;
  /** transaction → { resolve, reject, isMessage, timer } */
  #pending = new Map();
  /** handle id → RTCPeerConnection (or null before one exists) */
  #handles = new Map();
  /** "room/feed" of every feed announced by a 'publishers' event and not yet gone */
  #feeds = new Set();
  /** subscription handle id → the feed it receives */
  #subscriptions = new Map();
  #keepalive;

  /** Use `JanusSession.connect`. */
  constructor(ws, { token, iceServers }) {
    super();
    this.#ws = ws;
    this.#token = token;
    this.#iceServers = iceServers;
    ws.addEventListener('message', (event) => this.#receive(JSON.parse(event.data)));
    ws.addEventListener('close', () => this.#closed());
  }

  /**
   * Opens the WebSocket and creates a Janus session. `iceServers` (STUN/TURN) go to every
   * RTCPeerConnection; none are needed when the browser can reach Janus's host candidates.
   */
  static async connect(url, { token, iceServers = [] } = {}) {
    const ws = new WebSocket(url, 'janus-protocol');
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', () => reject(new JanusError(`cannot connect to ${url}`)), { once: true });
    });
    const session = new JanusSession(ws, { token, iceServers });
    const created = await session.#request({ janus: 'create' });
    session.#sessionId = created.data.id;
    session.#keepalive = setInterval(() => session.#request({ janus: 'keepalive' }).catch(() => {}), KEEPALIVE_MS);
    return session;
  }

  /**
   * Joins `room` as a publisher and sends every track of `stream`. Resolves once Janus reports
   * the PeerConnection up ('webrtcup'): until then Janus answers a subscriber "No such feed".
   * `id` asks for that feed number (Tack gives each publisher theirs); Janus picks one without.
   * Returns `{ feed, privateId, handle, peerConnection, leave() }`; `feed` is what subscribers ask for.
   */
  async publish(room, stream, { display, pin, id } = {}) {
    const handle = await this.#attach();
    const joined = await this.#message(handle, { request: 'join', ptype: 'publisher', room, display, pin, id });
    this.#announce(room, joined.data.publishers);
    const pc = this.#peerConnection(handle);
    const up = this.#webrtcUp(handle);
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    await pc.setLocalDescription(await pc.createOffer());
    const { jsep } = await this.#message(handle, { request: 'publish' }, pc.localDescription);
    await pc.setRemoteDescription(jsep);
    await up;
    return { feed: joined.data.id, privateId: joined.data.private_id, handle, peerConnection: pc, leave: () => this.#leave(handle) };
  }

  /**
   * Subscribes to one publisher's feed in `room`. Returns `{ feed, stream, handle, peerConnection,
   * leave() }`; `stream` holds the remote tracks (media starts flowing once ICE is up).
   */
  async subscribe(room, feed, { privateId, pin } = {}) {
    const handle = await this.#attach();
    const body = { request: 'join', ptype: 'subscriber', room, streams: [{ feed }], private_id: privateId, pin };
    let offer;
    try {
      ({ jsep: offer } = await this.#message(handle, body));
    } catch (error) {
      await this.#request({ janus: 'detach' }, handle).catch(() => {}); // e.g. "No such feed": nothing to keep
      this.#handles.delete(handle);
      throw error;
    }
    const pc = this.#peerConnection(handle);
    const stream = new MediaStream();
    pc.addEventListener('track', (event) => stream.addTrack(event.track));
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await this.#message(handle, { request: 'start' }, pc.localDescription);
    this.#subscriptions.set(handle, feed);
    return { feed, stream, handle, peerConnection: pc, leave: () => this.#leave(handle) };
  }

  /** Closes every PeerConnection, destroys the Janus session and closes the WebSocket. */
  async close() {
    clearInterval(this.#keepalive);
    for (const pc of this.#handles.values()) pc?.close();
    this.#handles.clear();
    if (this.#ws.readyState === WebSocket.OPEN) {
      await this.#request({ janus: 'destroy' }).catch(() => {});
      this.#ws.close();
    }
  }

  async #attach() {
    const attached = await this.#request({ janus: 'attach', plugin: VIDEOROOM });
    this.#handles.set(attached.data.id, null);
    return attached.data.id;
  }

  async #leave(handle) {
    await this.#message(handle, { request: 'leave' }).catch(() => {});
    this.#handles.get(handle)?.close();
    this.#handles.delete(handle);
    this.#subscriptions.delete(handle);
    await this.#request({ janus: 'detach' }, handle).catch(() => {});
  }

  /** Resolves on Janus's 'webrtcup' for `handle`; rejects on its 'hangup' or after a timeout. */
  #webrtcUp(handle) {
    const up = new Promise((resolve, reject) => {
      const settle = (error) => {
        clearTimeout(timer);
        this.removeEventListener('webrtcup', onUp);
        this.removeEventListener('hangup', onHangup);
        if (error) reject(error);
        else resolve();
      };
      const onUp = (event) => event.detail.handle === handle && settle();
      const onHangup = (event) => event.detail.handle === handle && settle(new JanusError(`hangup: ${event.detail.reason}`));
      const timer = setTimeout(() => settle(new JanusError('media did not start')), REQUEST_TIMEOUT_MS);
      this.addEventListener('webrtcup', onUp);
      this.addEventListener('hangup', onHangup);
    });
    up.catch(() => {}); // awaited later; a failure before then is reported there, not as unhandled
    return up;
  }

  #peerConnection(handle) {
    const pc = new RTCPeerConnection({ iceServers: this.#iceServers });
    pc.addEventListener('icecandidate', (event) => {
      const candidate = event.candidate ? event.candidate.toJSON() : { completed: true };
      this.#request({ janus: 'trickle', candidate }, handle).catch(() => {});
    });
    this.#handles.set(handle, pc);
    return pc;
  }

  /** Sends a plugin message; resolves with `{ data, jsep }` (the VideoRoom's reply). */
  async #message(handle, body, jsep) {
    const reply = await this.#request({ janus: 'message', body, jsep }, handle);
    const data = reply.plugindata?.data ?? {};
    if (data.error) throw new JanusError(data.error, data.error_code);
    return { data, jsep: reply.jsep };
  }

  /**
   * Sends one request. Janus answers most requests with `success` or `ack`; a plugin `message`
   * is acked first and answered by an `event` with the same transaction (or by `success` when
   * the plugin handles it synchronously).
   */
  #request(message, handle) {
    const transaction = String(this.#nextTransaction++);
    const request = { ...message, transaction, token: this.#token, session_id: this.#sessionId, handle_id: handle };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(transaction, null, new JanusError(`${message.janus}: no answer`)), REQUEST_TIMEOUT_MS);
      this.#pending.set(transaction, { resolve, reject, isMessage: message.janus === 'message', timer });
      this.#ws.send(JSON.stringify(request));
    });
  }

  #settle(transaction, reply, error) {
    const pending = this.#pending.get(transaction);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(transaction);
    if (error) pending.reject(error);
    else pending.resolve(reply);
  }

  #receive(message) {
    const pending = this.#pending.get(message.transaction);
    if (pending) {
      if (message.janus === 'error') return this.#settle(message.transaction, null, new JanusError(message.error?.reason, message.error?.code));
      if (message.janus === 'ack' && pending.isMessage) return; // the answer follows as an event
      return this.#settle(message.transaction, message);
    }
    const handle = message.sender;
    switch (message.janus) {
      case 'trickle': {
        const pc = this.#handles.get(handle);
        const candidate = message.candidate?.completed ? null : message.candidate;
        pc?.addIceCandidate(candidate ?? undefined).catch(() => {});
        return;
      }
      case 'webrtcup':
        return this.#emit('webrtcup', { handle });
      case 'hangup':
        return this.#emit('hangup', { handle, reason: message.reason });
      case 'event':
        return this.#videoRoomEvent(handle, message.plugindata?.data ?? {});
    }
  }

  #videoRoomEvent(handle, data) {
    if (data.publishers) this.#announce(data.room, data.publishers);
    // A subscription whose publisher stops is 'updated' with no active stream left (and an offer
    // to renegotiate, not needed: the feed's media will not come back on this handle).
    const feed = this.#subscriptions.get(handle);
    if (feed != null && data.videoroom === 'updated' && !data.streams?.some((s) => s.active)) {
      this.#subscriptions.delete(handle);
      this.#emit('gone', { handle, feed });
    }
    // A feed that stops publishing is reported as `unpublished`, one that leaves the room as
    // `leaving` (possibly after `unpublished`): one event for either, and only for announced feeds.
    for (const feed of [data.unpublished, data.leaving]) {
      if (this.#feeds.delete(`${data.room}/${feed}`)) this.#emit('unpublished', { room: data.room, feed });
    }
  }

  #announce(room, publishers) {
    if (!publishers?.length) return;
    for (const { id } of publishers) this.#feeds.add(`${room}/${id}`);
    this.#emit('publishers', { room, publishers: publishers.map(({ id, display }) => ({ id, display })) });
  }

  #closed() {
    clearInterval(this.#keepalive);
    // Janus destroys a session whose connection went away, and with it every PeerConnection's
    // other end: close ours, or they stay open (and keep sending) until ICE gives up.
    for (const pc of this.#handles.values()) pc?.close();
    this.#handles.clear();
    this.#subscriptions.clear();
    for (const transaction of [...this.#pending.keys()]) this.#settle(transaction, null, new JanusError('connection closed'));
    this.#emit('closed', {});
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
