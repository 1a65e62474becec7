/** Hash routes such as `#/org/:orgId/member/:memberId`. */

function compile(pattern) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  return { regex: new RegExp(`^${source}$`), names };
}

export function currentPath() {
  return location.hash.replace(/^#/, '') || '/';
}

export function navigate(path, { replace = false } = {}) {
  if (currentPath() === path) return;
  if (replace) location.replace(`#${path}`);
  else location.hash = path;
}

/** Calls `onMatch(route, params)` for the current hash now and on every change. */
export function startRouter(routes, onMatch) {
  const compiled = routes.map((route) => ({ route, ...compile(route.path) }));
  const resolve = () => {
    const path = currentPath();
    for (const { route, regex, names } of compiled) {
      const match = regex.exec(path);
      if (match) {
        const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
        return onMatch(route, params);
      }
    }
    return onMatch(routes.find((route) => route.path === '/'), {});
  };
  window.addEventListener('hashchange', resolve);
  resolve();
  return resolve;
}
