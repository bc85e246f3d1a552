// Building DOM nodes without parsing HTML: every string becomes a text node, so
// post text (untrusted) can never become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' && 'value' in el && el.tagName !== 'OPTION') {
      el.value = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function appendAll(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// h builds an HTML element: h('a', {href: '#/'}, 'Overview').
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

// svg builds an SVG element.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

// highlighted turns a search fragment, HTML-escaped text with <mark> around
// the matched terms, into nodes: the marks become <mark> elements and
// everything else stays text, whatever it contains.
export function highlighted(fragment) {
  const out = [];
  const parts = String(fragment).split(/(<mark>|<\/mark>)/);
  let inMark = false;
  for (const p of parts) {
    if (p === '<mark>') { inMark = true; continue; }
    if (p === '</mark>') { inMark = false; continue; }
    if (!p) continue;
    const text = unescapeHTML(p);
    out.push(inMark ? h('mark', null, text) : document.createTextNode(text));
  }
  return out;
}

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#34': '"' };

function unescapeHTML(s) {
  return s.replace(/&(amp|lt|gt|quot|apos|#39|#34);/g, (_, e) => entities[e]);
}
