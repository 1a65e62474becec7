/**
 * A class's stage: its video and sound through the installation's Janus, kept in step with the
 * class (`update(c, hands)` after every fetch of it).
 *
 * - The teacher goes on the air with the camera, or shares the screen (the microphone with
 *   either), as the class's teacher feed; Tack hears of it (`on-air`) and every page subscribes.
 * - A student watches the teacher's feed, hears (and, if they turned their camera on, sees) the
 *   students the teacher lets speak, and publishes their own microphone while it is their turn.
 *   Nobody's page turns on anyone else's camera or microphone: each page publishes only its own.
 * - Watch time: while the teacher's video is on screen (Page Visibility), a heartbeat every
 *   15 s; the replay counts while it plays and is on screen.
 * - A dropped connection to Janus reconnects by itself; a refused camera says so.
 * - Without a media server the stage says so and how to turn it on.
 *
 * Everything that changes the connection runs in `reconcile`, one run at a time: it compares
 * what should be (from the class, the hands and the person's own buttons) with what is.
 */
import { h } from '../../core/dom.js';
import { button } from '../../core/forms.js';
import { errorText, t } from '../../core/i18n.js';
import { JanusSession } from './janus.js';
import { openVideo, replayUrl, sendHeartbeat, setOnAir } from './state.js';

const HEARTBEAT_MS = 15_000;
const RETRY_MS = 2_000;
const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 } };

/** A playing element for `stream`; `peer` (the RTCPeerConnection it comes from) is kept on it as
 * `tackPeer` for diagnostics: its `getStats()` say whether media arrives. */
function mediaElement(tag, stream, attrs = {}, peer = null) {
  const el = document.createElement(tag);
  el.tackPeer = peer;
  el.autoplay = true;
  el.playsInline = true;
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.srcObject = stream;
  return el;
}

/** Plays `el`; when the browser refuses sound without a click, plays muted and offers one. */
function play(el, offer) {
  el.play().catch(() => {
    el.muted = true;
    el.play().catch(() => {});
    offer(el);
  });
}

/** Heartbeats every 15 s while `on()` and the page is visible; one more when either stops. */
function heartbeats(beat) {
  let timer = null;
  let wanted = false;
  const sync = () => {
    const run = wanted && document.visibilityState === 'visible';
    if (run && !timer) timer = setInterval(beat, HEARTBEAT_MS);
    if (!run && timer) {
      clearInterval(timer);
      timer = null;
      beat();
    }
  };
  document.addEventListener('visibilitychange', sync);
  return {
    set(on) { wanted = on; sync(); },
    stop() { wanted = false; sync(); document.removeEventListener('visibilitychange', sync); },
  };
}

export function createStage(orgId, liveClassId, { onStale }) {
  const screen = h('div', { class: 'live-screen' });
  const tiles = h('div', { class: 'live-tiles', 'data-testid': 'live-speakers' });
  const bar = h('div', { class: 'live-stage-bar' });
  const status = h('p', { class: 'live-media-status', role: 'status', 'data-testid': 'live-media-status' });
  const el = h('div', { class: 'live-stage', 'data-testid': 'live-stage' }, screen, tiles, bar, status);

  let c = null;
  let hands = [];
  let closed = false;
  /** `{ session, media, subs: Map(feed → subscription), pub: { kind, publication, stream } | null }` */
  let conn = null;
  /** What the person asked for with their own buttons: the teacher 'camera' | 'screen' | null; a speaker's camera. */
  let teacherWants = null;
  let speakerCamera = false;
  /** The connection's trouble (shown until it is back), and a camera or microphone refused. */
  let problem = '';
  let deviceProblem = '';
  let retry = null;
  const beatLive = heartbeats(() => sendHeartbeat(orgId, liveClassId, 'live').catch(() => {}));
  const beatReplay = heartbeats(() => sendHeartbeat(orgId, liveClassId, 'replay').catch(() => {}));
  let replay = null;
  const viewerTimer = setInterval(() => c?.me.canRun && c.state === 'live' && onStale(), HEARTBEAT_MS);

  const say = (text) => { status.textContent = text; };

  // Runs `reconcile` one at a time; a request during a run runs it once more afterwards.
  let running = null;
  let again = false;
  function schedule() {
    if (running) { again = true; return; }
    running = reconcile().catch((error) => {
      if (conn) problem = errorText(error); // else the connection dropped: "reconnecting" stays
      if (!(error?.status >= 400 && error.status < 500)) retryLater(); // Janus or the network: again shortly
    }).finally(() => {
      running = null;
      render();
      if (again && !closed) { again = false; schedule(); }
    });
  }

  function retryLater() {
    if (retry || closed) return;
    retry = setTimeout(() => { retry = null; schedule(); }, RETRY_MS);
  }

  function wantedFeeds() {
    if (!conn) return [];
    const feeds = c.me.role !== 'teacher' && c.onAir && conn.media.teacherFeed != null ? [conn.media.teacherFeed] : [];
    for (const hand of hands) if (hand.feed && hand.feed !== conn.media.feed) feeds.push(hand.feed);
    return feeds;
  }

  /** The stream the person should publish now, by kind: null for none. */
  function wantedPublication() {
    if (!conn || c.paused && c.me.role !== 'teacher') return null;
    if (conn.media.publish) return teacherWants;
    const mine = hands.find((hand) => hand.feed && hand.feed === conn.media.feed);
    if (!mine) return null;
    return speakerCamera ? 'speaker-camera' : 'speaker-mic';
  }

  async function capture(kind) {
    if (kind === 'speaker-mic') return navigator.mediaDevices.getUserMedia({ audio: true });
    if (kind === 'speaker-camera' || kind === 'camera') return navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA });
    const screenStream = await navigator.mediaDevices.getDisplayMedia({ video: true });
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => null);
    for (const track of mic?.getAudioTracks() ?? []) screenStream.addTrack(track);
    // The browser's own "Stop sharing" ends the track: go off the air as if "Stop" was pressed.
    screenStream.getVideoTracks()[0]?.addEventListener('ended', () => { if (teacherWants === 'screen') { teacherWants = null; schedule(); } });
    return screenStream;
  }

  async function stopPublishing() {
    if (!conn?.pub) return;
    const { publication, stream } = conn.pub;
    conn.pub = null;
    stream.getTracks().forEach((track) => track.stop());
    await publication.leave();
  }

  async function connect() {
    const joined = await openVideo(orgId, liveClassId, 'live');
    if (!joined.media) return false;
    const session = await JanusSession.connect(joined.media.url, { token: joined.media.token });
    const mine = { session, media: joined.media, subs: new Map(), pub: null };
    session.addEventListener('closed', () => {
      if (conn !== mine) return;
      conn = null; // Janus or the network went away: start again
      mine.pub?.stream.getTracks().forEach((track) => track.stop()); // captured afresh when publishing again
      problem = t('live.media.reconnecting');
      retryLater();
      render();
    });
    // A subscription Janus hung up, or whose feed stopped (the teacher's connection dropped and
    // the page publishes again): subscribe afresh (retried until the feed is back).
    const lost = ({ detail }) => {
      for (const [feed, sub] of mine.subs) {
        if (sub.handle === detail.handle) { mine.subs.delete(feed); sub.leave().catch(() => {}); schedule(); }
      }
    };
    session.addEventListener('hangup', lost);
    session.addEventListener('gone', lost);
    conn = mine;
    return true;
  }

  async function disconnect() {
    const old = conn;
    conn = null;
    if (!old) return;
    if (old.pub) {
      old.pub.stream.getTracks().forEach((track) => track.stop());
      // The teacher leaves the page while on the air: the students stop waiting for the picture.
      if (old.media.publish && c?.state === 'live') await setOnAir(orgId, liveClassId, false).catch(() => {});
    }
    await old.session.close();
  }

  async function reconcile() {
    if (closed) return disconnect();
    if (!c) return undefined;
    const live = c.state === 'live' && c.mediaAvailable && !c.me.removed;
    if (!live) {
      await disconnect();
      beatLive.set(false);
      return undefined;
    }
    if (!conn && !(await connect())) return undefined;
    problem = '';
    // Students learn the teacher's feed once the teacher is on the air: ask again then.
    if (c.onAir && conn.media.teacherFeed == null) conn.media = (await openVideo(orgId, liveClassId, 'live')).media ?? conn.media;
    // Publishing: the teacher's camera or screen, a speaker's microphone (and camera).
    const kind = wantedPublication();
    if ((conn.pub?.kind ?? null) !== kind) {
      const wasOnAir = conn.pub && conn.media.publish;
      await stopPublishing();
      if (!kind && wasOnAir && c.onAir) await setOnAir(orgId, liveClassId, false);
      if (kind) {
        let stream;
        try {
          stream = await capture(kind);
        } catch (error) {
          if (conn.media.publish) teacherWants = null; else speakerCamera = false;
          deviceProblem = t(error?.name === 'NotAllowedError' ? 'live.media.denied' : 'live.media.noDevice');
          return undefined;
        }
        let publication;
        try {
          publication = await conn.session.publish(conn.media.room, stream, { id: conn.media.feed, display: c.me.role });
        } catch (error) {
          stream.getTracks().forEach((track) => track.stop()); // the camera's light goes off again
          throw error;
        }
        conn.pub = { kind, publication, stream };
        if (conn.media.publish && !c.onAir) await setOnAir(orgId, liveClassId, true);
      }
    }
    // Subscriptions: the teacher's feed (once on the air) and every speaker's.
    const wanted = wantedFeeds();
    for (const [feed, sub] of conn.subs) {
      if (!wanted.includes(feed)) { conn.subs.delete(feed); await sub.leave(); }
    }
    for (const feed of wanted) {
      if (conn.subs.has(feed)) continue;
      try {
        conn.subs.set(feed, await conn.session.subscribe(conn.media.room, feed));
      } catch {
        retryLater(); // not published yet (the teacher's page is still starting): try again shortly
      }
    }
    beatLive.set(conn.subs.has(conn.media.teacherFeed));
    return undefined;
  }

  function offerSound(media) {
    bar.append(button(t('live.media.unmute'), {
      class: 'btn', 'data-testid': 'live-unmute',
      onclick: (event) => { media.muted = false; media.play().catch(() => {}); event.currentTarget.remove(); },
    }));
  }

  /** The main picture: the replay, the teacher's video, one's own preview, or what to wait for. */
  function renderScreen() {
    if (c.state === 'replay_ready') {
      if (!replay) {
        replay = h('video', { class: 'live-video', controls: true, preload: 'metadata', 'data-testid': 'live-replay', src: replayUrl(orgId, liveClassId) });
        replay.addEventListener('play', () => openVideo(orgId, liveClassId, 'replay').then(() => beatReplay.set(true), (error) => say(errorText(error))));
        for (const type of ['pause', 'ended']) replay.addEventListener(type, () => beatReplay.set(false));
      }
      if (screen.firstChild !== replay) screen.replaceChildren(replay);
      return;
    }
    const message = (key, testid = 'live-waiting') => h('div', { class: 'live-placeholder', 'data-testid': testid }, h('p', {}, t(key)));
    if (c.state === 'ended') {
      if (c.replayFailed) return screen.replaceChildren(message('live.replayFailed', 'live-no-replay'));
      return screen.replaceChildren(message(c.mediaAvailable ? 'live.replayPending' : 'live.media.ended', 'live-no-replay'));
    }
    if (!c.mediaAvailable) {
      screen.replaceChildren(h('div', { class: 'live-placeholder', 'data-testid': 'live-no-media' },
        h('p', {}, t('live.media.none')), h('p', { class: 'live-note' }, t('live.media.noneLead'))));
      return;
    }
    if (c.state === 'scheduled') return screen.replaceChildren(message('live.media.notStarted'));
    if (c.state !== 'live') return screen.replaceChildren(message('live.media.cancelled'));
    if (c.me.removed) return screen.replaceChildren();
    if (c.me.role === 'teacher') {
      const stream = conn?.pub?.stream;
      if (!stream) return screen.replaceChildren(message('live.media.offAir'));
      if (screen.firstChild?.srcObject !== stream) {
        const preview = mediaElement('video', stream, { class: 'live-video', 'data-testid': 'live-preview' });
        preview.muted = true;
        screen.replaceChildren(preview);
      }
      return undefined;
    }
    const teacher = conn?.subs.get(conn.media.teacherFeed);
    if (!teacher) return screen.replaceChildren(message(c.onAir ? 'live.media.joining' : 'live.media.waiting'));
    if (screen.firstChild?.srcObject !== teacher.stream) {
      const video = mediaElement('video', teacher.stream, { class: 'live-video', 'data-testid': 'live-video' }, teacher.peerConnection);
      screen.replaceChildren(video);
      play(video, offerSound);
    }
    return undefined;
  }

  /** One tile per speaker heard: their sound, and their picture if they turned their camera on. */
  function renderTiles() {
    const shown = new Map([...tiles.children].map((tile) => [tile.dataset.feed, tile]));
    const subs = conn ? [...conn.subs].filter(([feed]) => feed !== conn.media.teacherFeed) : [];
    const keep = new Set();
    for (const [feed, sub] of subs) {
      keep.add(String(feed));
      if (shown.has(String(feed))) continue;
      const who = hands.find((hand) => hand.feed === feed)?.person.name ?? '';
      const media = mediaElement('video', sub.stream, { class: 'live-tile-video', 'data-testid': 'live-speaker-media' }, sub.peerConnection);
      tiles.append(h('figure', { class: 'live-tile', 'data-testid': 'live-speaker', 'data-feed': String(feed) }, media, h('figcaption', {}, who)));
      play(media, offerSound);
    }
    for (const [feed, tile] of shown) if (!keep.has(feed)) tile.remove();
  }

  function renderBar() {
    const parts = [];
    const canBroadcast = c.state === 'live' && c.mediaAvailable && c.me.role === 'teacher';
    if (canBroadcast) {
      const choose = (kind) => () => { teacherWants = kind; deviceProblem = ''; schedule(); };
      parts.push(
        teacherWants !== 'camera' && button(t('live.media.camera'), { class: 'btn btn-primary', 'data-testid': 'live-go-on-air', onclick: choose('camera') }),
        teacherWants !== 'screen' && navigator.mediaDevices?.getDisplayMedia && button(t('live.media.screen'), { class: 'btn', 'data-testid': 'live-share-screen', onclick: choose('screen') }),
        teacherWants && button(t('live.media.stop'), { class: 'btn', 'data-testid': 'live-off-air', onclick: choose(null) }));
    }
    if (conn && !conn.media.publish && conn.pub) {
      parts.push(h('span', { class: 'live-on-mic', 'data-testid': 'live-on-mic' }, t('live.media.onMic')),
        button(t(speakerCamera ? 'live.media.cameraOff' : 'live.media.cameraOn'), {
          class: 'btn', 'data-testid': 'live-my-camera', onclick: () => { speakerCamera = !speakerCamera; deviceProblem = ''; schedule(); },
        }));
    }
    if (c.me.canRun && c.state === 'live' && c.watching != null) {
      parts.push(h('span', { class: 'live-watching', 'data-testid': 'live-watching', 'data-count': String(c.watching) },
        t('live.media.watching', { count: c.watching })));
    }
    const keepUnmute = [...bar.querySelectorAll('[data-testid="live-unmute"]')];
    bar.replaceChildren(...parts.filter(Boolean), ...keepUnmute);
  }

  function render() {
    if (closed || !c) return;
    renderScreen();
    renderTiles();
    renderBar();
    say(deviceProblem || problem);
  }

  return {
    el,
    update(next, nextHands) {
      c = next;
      hands = nextHands;
      if (c.state !== 'replay_ready') beatReplay.set(false);
      render();
      schedule();
    },
    destroy() {
      closed = true;
      clearTimeout(retry);
      clearInterval(viewerTimer);
      beatLive.stop();
      beatReplay.stop();
      replay?.pause();
      schedule();
    },
  };
}
