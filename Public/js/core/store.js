/** A tiny observable value: views subscribe, state modules set. */
export function createStore(initial) {
  let state = initial;
  const listeners = new Set();
  return {
    get: () => state,
    set(patch) {
      state = { ...state, ...patch };
      for (const listener of listeners) listener(state);
    },
    /** Calls `listener` on every change; returns the unsubscribe function. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * Holds event handlers back while fetches are in flight and runs them, in order, after the
 * fetched state has landed, so a live event is never overwritten by an older snapshot.
 */
export function createEventQueue() {
  let holds = 0;
  let queued = [];
  return {
    run(handler) {
      if (holds > 0) queued.push(handler);
      else handler();
    },
    /** Runs `fetch`, then `apply(result)` before the events that arrived meanwhile. */
    async load(fetch, apply) {
      holds++;
      try {
        apply(await fetch());
      } finally {
        holds--;
        if (holds === 0) {
          const handlers = queued;
          queued = [];
          handlers.forEach((handler) => handler());
        }
      }
    },
  };
}

/**
 * Calls `render(value)` now and whenever `pick(state)` changes (compared item by item when it
 * returns an array); returns the unsubscribe function.
 */
export function watch(store, pick, render) {
  let last = pick(store.get());
  render(last);
  return store.subscribe((state) => {
    const next = pick(state);
    const same = Array.isArray(next) ? next.every((value, i) => value === last[i]) : next === last;
    if (same) return;
    last = next;
    render(next);
  });
}
