// Search page: the analyst's query over indexed posts, with filters,
// highlighted results, facets, pages and exports of the same query.

import { h } from '../dom.js';
import * as api from '../api.js';
import * as fmt from '../format.js';
import * as moment from '../moment.js';
import { link, posts, errorBox, empty } from '../ui.js';

// The filters the API takes, in the order of the form.
const filterKeys = ['q', 'service', 'code', 'lang', 'region', 'since', 'until', 'outage', 'min_score', 'sort'];

const sinceChoices = [
  ['', 'Any time'], ['-15m', 'Last 15 minutes'], ['-1h', 'Last hour'], ['-6h', 'Last 6 hours'],
  ['-24h', 'Last 24 hours'], ['-168h', 'Last 7 days'], ['-720h', 'Last 30 days'],
];

const examples = [
  ['outlook 451', 'posts with either word, best first with relevance sort'],
  ['+teams -meeting', 'must mention teams, must not mention meeting'],
  ['"temporary server issue"', 'the exact phrase'],
  ['services:Outlook', 'posts the classifier tied to Outlook'],
  ['outl*', 'a prefix'],
];

export default {
  nav: 'search',
  title: 'Search',
  async mount(root, ctx) {
    const p = ctx.params;
    const filters = {};
    for (const k of filterKeys) if (p.get(k)) filters[k] = p.get(k);
    // As of a moment, a search ends there, and "the last hour" is the
    // hour before it.
    const at = moment.getAsOf();
    if (at && Object.keys(filters).length) {
      const rel = /^-(\d+)([mh])$/.exec(filters.since || '');
      if (rel) filters.since = new Date(at.getTime() - Number(rel[1]) * (rel[2] === 'h' ? 3600e3 : 60e3)).toISOString();
      if (!filters.until) filters.until = at.toISOString();
    }
    const catalog = await api.services(60000).catch(() => ({ services: [] }));
    const form = searchForm(filters, catalog.services);
    root.append(h('h1', null, 'Search posts'), form);

    const results = h('section', { id: 'results', 'aria-labelledby': 'h-results' });
    root.append(results);
    const handle = {};
    if (Object.keys(filters).length) {
      const cursor = p.get('cursor') || '';
      const page = Math.max(1, Number(p.get('page')) || 1);
      try {
        const res = await api.get('v1/search', { ...filters, highlight: true, facets: true, limit: 20, cursor }, { signal: ctx.signal });
        results.append(...resultView(res, filters, cursor, page));
        handle.focus = results.querySelector('#h-results');
      } catch (e) {
        if (api.isAbort(e)) throw e;
        if (e.status !== 400) throw e;
        results.append(h('h2', { id: 'h-results', class: 'visually-hidden' }, 'Results'), errorBox('The search was refused: ' + e.message));
      }
    } else {
      results.append(h('h2', { id: 'h-results' }, 'Examples'), h('ul', null, examples.map(([q, what]) =>
        h('li', null, h('a', { href: link(['search'], { q, sort: 'relevance' }) }, h('code', null, q)), ' — ', what))));
    }
    if (p.get('focus')) handle.focus = form.querySelector('#q');
    return handle;
  },
};

function searchForm(f, services) {
  const field = (label, input) => h('label', { class: 'field' }, h('span', null, label), input);
  const since = f.since || '';
  const choices = sinceChoices.some(([v]) => v === since) ? sinceChoices : [...sinceChoices, [since, 'Since ' + describeTime(since)]];
  const form = h('form', { class: 'search-form panel', role: 'search', 'aria-label': 'Search posts' },
    h('div', { class: 'q' },
      h('label', { for: 'q', class: 'visually-hidden' }, 'Query (Bleve query-string syntax)'),
      h('input', { id: 'q', name: 'q', type: 'search', value: f.q || '', placeholder: 'outlook 451, "temporary server issue", +teams -meeting', autocomplete: 'off', spellcheck: 'false' }),
      h('button', { type: 'submit', class: 'primary' }, 'Search')),
    h('div', { class: 'filters' },
      field('Service', h('input', { name: 'service', type: 'text', value: f.service || '', list: 'service-names', autocomplete: 'off' })),
      h('datalist', { id: 'service-names' }, services.map((s) => h('option', { value: s.name }))),
      field('Error code', h('input', { name: 'code', type: 'text', value: f.code || '', placeholder: 'e.g. 451 4.3.2' })),
      field('Language', h('input', { name: 'lang', type: 'text', value: f.lang || '', placeholder: 'e.g. en', size: 4 })),
      field('Region', h('input', { name: 'region', type: 'text', value: f.region || '' })),
      field('Time', h('select', { name: 'since' }, choices.map(([v, l]) => h('option', { value: v, selected: v === since }, l)))),
      f.until ? field('Until', h('input', { name: 'until', type: 'text', value: f.until, readonly: true })) : null,
      field('Sort', h('select', { name: 'sort' },
        h('option', { value: 'time', selected: f.sort !== 'relevance' }, 'Newest first'),
        h('option', { value: 'relevance', selected: f.sort === 'relevance' }, 'Best match'))),
      field('Min. score', h('input', { name: 'min_score', type: 'number', min: 0, max: 1, step: 0.1, value: f.min_score || '', size: 4 })),
      h('label', { class: 'field check' }, h('input', { name: 'outage', type: 'checkbox', value: 'only', checked: f.outage === 'only' }), 'Outage reports only'),
    ),
    h('details', { class: 'help' },
      h('summary', null, 'Query syntax'),
      h('p', null, 'Words match anywhere in the post; ', h('code', null, '+word'), ' must appear, ', h('code', null, '-word'), ' must not, ',
        h('code', null, '"a phrase"'), ' matches in order, ', h('code', null, 'pre*'), ' is a prefix, and ', h('code', null, 'field:value'),
        ' searches one field (', ['text', 'services', 'codes', 'langs', 'regions', 'author'].map((x, i) => [i ? ', ' : '', h('code', null, x)]), ').'),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const params = {};
    for (const k of filterKeys) {
      const v = String(data.get(k) || '').trim();
      if (v && !(k === 'sort' && v === 'time')) params[k] = v;
    }
    const target = link(['search'], params);
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  });
  return form;
}

function describeTime(v) {
  const t = Date.parse(v);
  return Number.isFinite(t) ? fmt.dateTime(t) : v;
}

function resultView(res, filters, cursor, page) {
  const exportLink = (format, label) => h('a', {
    class: 'button', href: api.apiURL('v1/search/export', { ...filters, format }), download: '', 'data-export': format,
  }, label);
  const facetNames = { services: ['Services', 'service'], codes: ['Error codes', 'code'], langs: ['Languages', 'lang'] };
  const facets = Object.entries(facetNames).map(([key, [title, param]]) => {
    const terms = (res.facets && res.facets[key]) || [];
    if (!terms.length) return null;
    return h('section', { 'aria-label': title },
      h('h3', null, title),
      h('ul', null, terms.map((t) => h('li', null,
        filters[param] === t.term ? h('strong', null, t.term)
          : h('a', { href: link(['search'], { ...filters, [param]: t.term }), 'data-facet': key }, t.term),
        h('span', { class: 'muted' }, fmt.int(t.count))))));
  }).filter(Boolean);

  return [
    h('div', { class: 'result-head' },
      h('h2', { id: 'h-results', tabindex: -1 }, `${fmt.int(res.total)} ${res.total === 1 ? 'post' : 'posts'}`,
        h('span', { class: 'muted small' }, ` · page ${page} · ${fmt.dec(res.took_ms)} ms`)),
      h('div', { class: 'toolbar' }, h('span', { class: 'muted small' }, 'Export this query:'), exportLink('csv', 'CSV'), exportLink('ndjson', 'NDJSON'))),
    h('div', { class: 'split' },
      h('div', null,
        res.hits.length ? posts(res.hits) : empty('No post matches.'),
        h('nav', { class: 'pager', 'aria-label': 'Pages' },
          cursor ? h('a', { class: 'button', href: link(['search'], filters) }, '« First page') : null,
          res.next_cursor ? h('a', { class: 'button', href: link(['search'], { ...filters, cursor: res.next_cursor, page: page + 1 }), rel: 'next' }, 'Next page ›') : null)),
      h('aside', { class: 'facets panel', 'aria-label': 'Refine' }, facets.length ? facets : h('p', { class: 'muted' }, 'No facets.'))),
  ];
}
