/**
 * A class's replay in the browser: a `<video>` of `GET …/replay` (the server answers byte ranges,
 * so seeking works), the watch opened on the first play (`POST …/watch`, mode `replay`), and a
 * heartbeat every 15 s while the video plays and the page is visible — the watch statistics count
 * those.
 */
import { h } from '../../core/dom.js';
import { openReplay, replayHeartbeat, replayURL } from './state.js';

const HEARTBEAT_MS = 15000;

/** The player of one class; `stop()` when the page closes. */
export function replayPlayer(orgId, liveClassId) {
  let opened = null;
  let timer = null;
  const video = h('video', {
    class: 'live-replay', controls: true, preload: 'metadata', playsinline: true, src: replayURL(orgId, liveClassId), 'data-testid': 'live-replay',
    onplay: () => {
      opened ??= openReplay(orgId, liveClassId).catch(() => { opened = null; });
      timer ??= setInterval(beat, HEARTBEAT_MS);
    },
  });
  function beat() {
    if (video.paused || video.ended || document.visibilityState !== 'visible') return;
    replayHeartbeat(orgId, liveClassId).catch(() => {});
  }
  return {
    node: video,
    stop() {
      clearInterval(timer);
      video.pause();
    },
  };
}
