// procd's live page: resources with their processes, fail-counts, and the event list, updated
// through the SSE stream. Plain DOM, no framework; every value goes in as text (never as HTML).
import type { ApiEvent } from '../src/http/event-view.js';
import { EVENT_KINDS } from '../src/journal/kinds.js';

interface Proc { name: string; prefix: string; state: string; pid: number | null; sinceAt: string; failures: number }
interface Resource { resource: string; failResource: string; processes: Proc[]; failcount: { attribute: string; value: number; at: string } | null }

const token = new URLSearchParams(location.hash.slice(1)).get('token');
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function url(path: string, q: Record<string, string | undefined> = {}): string {
  const u = new URL(path, location.href);
  for (const [k, v] of Object.entries(q)) if (v) u.searchParams.set(k, v);
  if (token) u.searchParams.set('access_token', token);
  return u.toString();
}

async function get<T>(path: string, q: Record<string, string | undefined> = {}): Promise<T> {
  const r = await fetch(url(path, q));
  const body = await r.json();
  if (!r.ok) throw new Error(body.message ?? `HTTP ${r.status}`);
  return body as T;
}

function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

const MAIN = new Set(['id', 'time', 'at', 'kind', 'node', 'resource', 'process', 'pid', 'reason', 'failureId']);
function detail(e: ApiEvent): string {
  const parts = [e.resource && `${e.resource}${e.process ? `/${e.process}` : ''}`, e.pid ? `pid ${e.pid}` : '', e.reason ?? ''];
  for (const [k, v] of Object.entries(e)) if (!MAIN.has(k) && v !== null && typeof v !== 'object') parts.push(`${k}=${v}`);
  return parts.filter(Boolean).join(' ');
}

function eventItem(e: ApiEvent, short = false): HTMLElement {
  const li = h(
    'li',
    { class: `event k-${e.kind}`, 'data-id': String(e.id), 'data-kind': e.kind, 'data-resource': e.resource ?? '', 'data-failure': e.failureId ?? '' },
    h('span', { class: 'id' }, String(e.id)),
    h('time', { datetime: e.at, title: e.at }, e.at.slice(11, 26)),
    h('span', { class: 'kind' }, e.kind),
    ...(short ? [] : [h('span', { class: 'failure', title: e.failureId ?? '' }, e.failureId ? e.failureId.slice(0, 8) : '')]),
    h('span', { class: 'detail' }, detail(e)),
  );
  li.addEventListener('click', () => void select(e));
  return li;
}

// --- resources -------------------------------------------------------------------------------
let resources: Resource[] = [];
async function loadResources() {
  const r = await get<{ node: string; resources: Resource[] }>('/api/v1/resources');
  resources = r.resources;
  $('node').textContent = `on ${r.node}`;
  const body = $('resources').querySelector('tbody')!;
  body.replaceChildren(
    ...r.resources.flatMap((res) =>
      (res.processes.length ? res.processes : [null]).map((p, i) =>
        h(
          'tr',
          { 'data-resource': res.resource, ...(p ? { 'data-process': p.name, 'data-state': p.state, 'data-pid': String(p.pid ?? '') } : {}) },
          h('td', {}, i === 0 ? res.resource : ''),
          h('td', { title: p?.prefix ?? '' }, p?.name ?? '(no processes)'),
          h('td', {}, p ? h('span', { class: `state ${p.state}` }, p.state) : ''),
          h('td', { class: 'pid' }, p?.pid ? String(p.pid) : '–'),
          h('td', {}, p ? p.sinceAt.slice(11, 19) : ''),
          h('td', {}, p ? String(p.failures) : ''),
          h('td', { class: 'failcount', title: res.failcount?.attribute ?? '' }, i === 0 && res.failcount ? String(res.failcount.value) : i === 0 ? '0' : ''),
        ),
      ),
    ),
  );
  const sel = $<HTMLSelectElement>('f-resource');
  const have = new Set([...sel.options].map((o) => o.value));
  for (const res of r.resources) if (!have.has(res.resource)) sel.append(h('option', { value: res.resource }, res.resource));
}
let resourcesTimer: number | undefined;
function refreshResourcesSoon() {
  clearTimeout(resourcesTimer);
  resourcesTimer = window.setTimeout(() => void loadResources().catch(showError), 50);
}

// --- events and the live stream ----------------------------------------------------------------
const list = $<HTMLOListElement>('events');
const MAX_SHOWN = 500;
let lastId = 0;
let source: EventSource | null = null;

function filters() {
  return { resource: $<HTMLSelectElement>('f-resource').value || undefined, kind: $<HTMLSelectElement>('f-kind').value || undefined };
}

function show(e: ApiEvent) {
  if (list.querySelector(`li[data-id="${e.id}"]`)) return;
  list.prepend(eventItem(e));
  while (list.children.length > MAX_SHOWN) list.lastElementChild!.remove();
}

async function loadEvents() {
  source?.close();
  const f = filters();
  const { events } = await get<{ events: ApiEvent[] }>('/api/v1/events', { ...f, order: 'desc', limit: '200' });
  list.replaceChildren(...events.map((e) => eventItem(e)));
  lastId = events[0]?.id ?? lastId;
  if (!events.length) lastId = (await get<{ events: ApiEvent[] }>('/api/v1/events', { order: 'desc', limit: '1' })).events[0]?.id ?? 0;
  // The stream resumes after the newest event shown: nothing is missed between the two.
  source = new EventSource(url('/api/v1/stream', { ...f, lastEventId: String(lastId) }));
  const conn = $('conn');
  source.onopen = () => ((conn.textContent = 'live'), (conn.className = 'conn live'));
  source.onerror = () => ((conn.textContent = 'reconnecting…'), (conn.className = 'conn down'));
  source.onmessage = (m) => {
    const e = JSON.parse(m.data) as ApiEvent;
    lastId = Math.max(lastId, e.id);
    show(e);
    if (/^(process-|resource-|failcount-|daemon-)/.test(e.kind)) refreshResourcesSoon();
  };
}

// --- related events ------------------------------------------------------------------------
async function select(e: ApiEvent) {
  for (const x of document.querySelectorAll('li.event.selected')) x.classList.remove('selected');
  for (const x of document.querySelectorAll(`li.event[data-id="${e.id}"]`)) x.classList.add('selected');
  $('detail').hidden = false;
  $('detail-id').textContent = String(e.id);
  $('detail-json').textContent = JSON.stringify(e, null, 2);
  $('detail-failure').textContent = e.failureId ?? '(none)';
  $('detail-resource').textContent = e.resource ?? '(none)';
  const [byFailure, byResource] = await Promise.all([
    e.failureId ? get<{ events: ApiEvent[] }>('/api/v1/events', { failure: e.failureId, limit: '1000' }) : Promise.resolve({ events: [] }),
    e.resource ? get<{ events: ApiEvent[] }>('/api/v1/events', { resource: e.resource, order: 'desc', limit: '50' }) : Promise.resolve({ events: [] }),
  ]);
  $('related-failure').replaceChildren(...byFailure.events.map((x) => eventItem(x, true)));
  $('related-resource').replaceChildren(...byResource.events.map((x) => eventItem(x, true)));
}

function showError(err: unknown) {
  const conn = $('conn');
  conn.textContent = `error: ${err instanceof Error ? err.message : String(err)}`;
  conn.className = 'conn down';
}

for (const k of EVENT_KINDS) $('f-kind').append(h('option', { value: k }, k));
$('f-resource').addEventListener('change', () => void loadEvents().catch(showError));
$('f-kind').addEventListener('change', () => void loadEvents().catch(showError));
$('detail-close').addEventListener('click', () => ($('detail').hidden = true));
loadResources()
  .then(loadEvents)
  .catch(showError);
