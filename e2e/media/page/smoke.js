/**
 * The test page of e2e/media/test_janus_smoke.py: drives Public/js/features/live/janus.js and
 * reports what the test asserts. Times are Date.now() (both pages run on one machine).
 */
import { JanusSession } from '/js/features/live/janus.js';

const FIRST_FRAME_TIMEOUT_MS = 10_000;

let session;
let publication;
let subscription;
let firstFrame;
const timings = {};

/** Resolves with the time the first video frame was decoded, polling getStats every 10 ms. */
async function pollFirstFrame(pc) {
  const deadline = Date.now() + FIRST_FRAME_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const { video } = await inbound(pc);
    if (video.framesDecoded > 0) return Date.now();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no video frame decoded within 10 s');
}

/** The subscriber's inbound-rtp counters, per kind. */
async function inbound(pc) {
  const result = { video: { framesDecoded: 0 }, audio: { packetsReceived: 0 } };
  for (const report of (await pc.getStats()).values()) {
    if (report.type !== 'inbound-rtp') continue;
    const { framesDecoded, frameWidth, frameHeight, framesPerSecond, packetsReceived, packetsLost } = report;
    result[report.kind] = { framesDecoded, frameWidth, frameHeight, framesPerSecond, packetsReceived, packetsLost };
  }
  return result;
}

window.smoke = {
  /** The session's events, in order: { type, detail }. */
  events: [],

  async connect(url, token) {
    session = await JanusSession.connect(url, { token });
    session.addEventListener('webrtcup', () => {
      timings.webrtcUp ??= Date.now();
    });
    for (const type of ['publishers', 'unpublished', 'hangup', 'closed']) {
      session.addEventListener(type, (event) => window.smoke.events.push({ type, detail: event.detail }));
    }
  },

  /** `feed`: publish as that feed (as the teacher's page does with Tack's `teacherFeed`). */
  async publish(room, { feed } = {}) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    timings.publishStart = Date.now();
    publication = await session.publish(room, stream, { display: 'publisher', id: feed });
    timings.published = Date.now();
    const { width, height, frameRate } = stream.getVideoTracks()[0].getSettings();
    return { feed: publication.feed, camera: { width, height, frameRate }, ...timings };
  },

  async subscribe(room, feed) {
    timings.subscribeStart = Date.now();
    subscription = await session.subscribe(room, feed);
    firstFrame = pollFirstFrame(subscription.peerConnection);
    timings.subscribed = Date.now();
    document.querySelector('video').srcObject = subscription.stream;
    return { ...timings };
  },

  async firstFrame() {
    timings.firstFrame = await firstFrame;
    return { ...timings };
  },

  /** inbound-rtp counters now and `ms` later. */
  async sample(ms) {
    const before = await inbound(subscription.peerConnection);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { before, after: await inbound(subscription.peerConnection) };
  },

  /** The publisher's video outbound-rtp counters (what it sends: frames, size, bytes). */
  async outbound() {
    for (const report of (await publication.peerConnection.getStats()).values()) {
      if (report.type !== 'outbound-rtp' || report.kind !== 'video') continue;
      const { framesSent, framesEncoded, framesPerSecond, frameWidth, frameHeight, bytesSent, packetsSent,
        qualityLimitationReason, encoderImplementation } = report;
      return { at: Date.now(), framesSent, framesEncoded, framesPerSecond, frameWidth, frameHeight, bytesSent, packetsSent,
        qualityLimitationReason, encoderImplementation };
    }
    return null;
  },

  async leave() {
    await (publication ?? subscription).leave();
    timings.left = Date.now();
    return { ...timings };
  },

  async close() {
    await session?.close();
  },
};
document.body.dataset.ready = 'true';
