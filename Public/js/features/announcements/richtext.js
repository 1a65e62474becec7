/**
 * Announcement bodies in the browser. The server stores them sanitised; the client still never
 * inserts them as HTML: `renderRichText` parses the text into an inert document (DOMParser runs
 * no scripts and loads nothing) and rebuilds only allowed elements, with text as text nodes and
 * links checked again. `richTextEditor` is a contenteditable with a small toolbar; pasting
 * inserts plain text, and what it sends is written from its allowed elements only.
 */
import { h } from '../../core/dom.js';
import { t } from '../../core/i18n.js';

const ALLOWED = new Set(['P', 'BR', 'STRONG', 'B', 'EM', 'I', 'U', 'S', 'H2', 'H3', 'UL', 'OL', 'LI', 'BLOCKQUOTE', 'A']);
/** Dropped with everything inside them. */
const DROPPED = new Set(['SCRIPT', 'STYLE', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'MATH', 'TEMPLATE', 'NOSCRIPT', 'TEXTAREA', 'TITLE', 'IMG', 'VIDEO', 'AUDIO', 'FORM']);

/** The URL if it is an absolute http, https or mailto one. */
export function safeHref(raw) {
  try {
    const url = new URL(raw);
    return ['http:', 'https:', 'mailto:'].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function rebuild(node, into) {
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      into.append(document.createTextNode(child.nodeValue));
      continue;
    }
    if (child.nodeType !== Node.ELEMENT_NODE || DROPPED.has(child.nodeName)) continue;
    if (!ALLOWED.has(child.nodeName)) {
      rebuild(child, into);  // unwrapped: its text stays
      continue;
    }
    const el = document.createElement(child.nodeName.toLowerCase());
    if (child.nodeName === 'A') {
      const href = safeHref(child.getAttribute('href') ?? '');
      if (href) {
        el.href = href;
        el.rel = 'noopener noreferrer nofollow';
        el.target = '_blank';
      }
    }
    rebuild(child, el);
    into.append(el);
  }
}

/** A fragment of safe elements for a stored body. */
export function renderRichText(html) {
  const doc = new DOMParser().parseFromString(`<!doctype html><body>${html ?? ''}`, 'text/html');
  const fragment = document.createDocumentFragment();
  rebuild(doc.body, fragment);
  return fragment;
}

const escapeText = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The HTML of the allowed elements under `node` (the editor's lines, `div`s, become paragraphs). */
function serialize(node) {
  let out = '';
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) out += escapeText(child.nodeValue);
    if (child.nodeType !== Node.ELEMENT_NODE || DROPPED.has(child.nodeName)) continue;
    const name = child.nodeName === 'DIV' ? 'P' : child.nodeName;
    if (!ALLOWED.has(name)) {
      out += serialize(child);
    } else if (name === 'BR') {
      out += '<br>';
    } else {
      const href = name === 'A' ? safeHref(child.getAttribute('href') ?? '') : null;
      const tag = name.toLowerCase();
      out += `<${tag}${href ? ` href="${escapeText(href)}"` : ''}>${serialize(child)}</${tag}>`;
    }
  }
  return out;
}

/**
 * The editor: `{ el, html(), setHtml(html), isEmpty() }`. Formatting goes through
 * `execCommand`, which keeps the browser's undo history.
 */
export function richTextEditor({ placeholder = '' } = {}) {
  const area = h('div', {
    class: 'ann-editor-area', contenteditable: 'true', role: 'textbox', 'aria-multiline': 'true',
    'aria-label': t('announcements.body'), 'data-placeholder': placeholder, 'data-testid': 'ann-editor',
  });
  const run = (command, value) => {
    area.focus();
    document.execCommand('defaultParagraphSeparator', false, 'p');
    document.execCommand(command, false, value);
    update();
  };
  const tool = (label, title, testId, action) => h('button', {
    type: 'button', class: 'ann-tool', title, 'aria-label': title, 'data-testid': testId,
    // Keep the selection in the editor.
    onmousedown: (event) => event.preventDefault(),
    onclick: action,
  }, label);
  const toolbar = h('div', { class: 'ann-toolbar', role: 'toolbar', 'aria-label': t('announcements.formatting') },
    tool(h('b', {}, 'B'), t('announcements.tool.bold'), 'ann-tool-bold', () => run('bold')),
    tool(h('i', {}, 'I'), t('announcements.tool.italic'), 'ann-tool-italic', () => run('italic')),
    tool('H', t('announcements.tool.heading'), 'ann-tool-heading', () => {
      const inHeading = document.queryCommandValue('formatBlock').toLowerCase() === 'h2';
      run('formatBlock', inHeading ? 'p' : 'h2');
    }),
    tool('•', t('announcements.tool.bullets'), 'ann-tool-bullets', () => run('insertUnorderedList')),
    tool('1.', t('announcements.tool.numbers'), 'ann-tool-numbers', () => run('insertOrderedList')),
    tool('🔗', t('announcements.tool.link'), 'ann-tool-link', () => {
      const entered = window.prompt(t('announcements.linkPrompt'), 'https://');
      if (entered == null) return;
      const href = safeHref(entered.trim());
      if (!href) return window.alert(t('announcements.linkInvalid'));
      return run('createLink', href);
    }));
  const update = () => area.classList.toggle('is-empty', !area.textContent.trim());
  area.addEventListener('input', update);
  // Pasted content arrives as plain text: nothing foreign enters the editor.
  area.addEventListener('paste', (event) => {
    event.preventDefault();
    document.execCommand('insertText', false, event.clipboardData?.getData('text/plain') ?? '');
  });
  area.addEventListener('drop', (event) => event.preventDefault());
  update();
  return {
    el: h('div', { class: 'ann-editor' }, toolbar, area),
    html: () => serialize(area),
    setHtml(html) {
      area.replaceChildren(renderRichText(html));
      update();
    },
    isEmpty: () => !area.textContent.trim(),
  };
}
