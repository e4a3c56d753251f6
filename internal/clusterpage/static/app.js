// Depot's cluster page: reads state.json every few seconds and draws it. Every value from
// the tracker goes into the page as text, never as HTML.
'use strict';

const params = new URLSearchParams(location.search);
const period = Math.max(0.2, parseFloat(params.get('refresh')) || 2) * 1000;
const $ = (id) => document.getElementById(id);

// el makes an element: attrs sets properties (class, title, dataset via data-*); children
// are nodes or strings (text).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k === 'title' || k === 'style') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function bytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

function dur(s) {
  s = Math.max(0, Math.round(s));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor(s % 3600 / 60) + 'm';
  return Math.floor(s / 86400) + 'd ' + Math.floor(s % 86400 / 3600) + 'h';
}

// ago is how long before now t was. Times are whole seconds, so "just now" (under 2 s)
// is left to the caller that knows the thing is fresh (a heartbeat of an ACTIVE storage).
function ago(now, t, fresh) {
  if (!t) return 'never';
  return fresh && now - t < 2 ? 'just now' : dur(now - t) + ' ago';
}

function clock(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
}

const badge = (state) => el('span', { class: 'badge ' + state, 'data-state': state }, state);

function pathRow(p) {
  const used = p.total_bytes ? 1 - p.free_bytes / p.total_bytes : 0;
  const free = 1 - used;
  const level = free < 0.1 ? ' bad' : free < 0.2 ? ' warn' : '';
  return el('div', { class: 'path', 'data-path': p.index },
    el('span', { class: 'mono' }, 'store_path' + p.index),
    el('div', { class: 'bar' + level, title: Math.round(used * 100) + '% used' },
      el('span', { style: 'width:' + (used * 100).toFixed(1) + '%' })),
    el('span', { class: 'free' }, bytes(p.free_bytes) + ' free of ' + bytes(p.total_bytes)));
}

function lagRows(now, s) {
  const out = [];
  if (s.sync_source && (s.state === 'WAIT_SYNC' || s.state === 'SYNCING')) {
    out.push(el('div', { class: 'lag behind' }, 'initial copy from ' + s.sync_source));
  }
  for (const l of s.lag || []) {
    const behind = l.files > 0 || l.bytes > 0;
    const what = behind ? l.files + ' files (' + bytes(l.bytes) + ') behind' : 'in sync';
    const synced = l.last_synced ? ', newest file ' + ago(now, l.last_synced) : '';
    out.push(el('div', { class: 'lag' + (behind ? ' behind' : ''), 'data-peer': l.peer },
      el('span', { class: 'muted' }, 'from ' + l.peer + ': '), what + synced));
  }
  return out.length ? out : [el('span', { class: 'muted' }, '—')];
}

function storageRow(now, s) {
  const row = s.state === 'OFFLINE' ? 'down' : s.state === 'DELETED' ? 'gone' : '';
  const who = s.id ? s.addr + ':' + s.port : (s.http_url || '');
  return el('tr', { class: row, 'data-storage': s.key, 'data-state': s.state },
    el('td', {}, el('div', { class: 'key' }, s.key), el('div', { class: 'addr' }, who)),
    el('td', {}, badge(s.state), s.rw && s.rw !== 'both' ? el('div', { class: 'muted' }, 'rw=' + s.rw) : null),
    el('td', {}, (s.paths || []).length ? s.paths.map(pathRow) : el('span', { class: 'muted' }, 'no report yet')),
    el('td', { class: 'nowrap' + (s.state === 'ACTIVE' || s.state === 'DELETED' ? '' : ' stale') }, ago(now, s.last_heartbeat, s.state === 'ACTIVE')),
    el('td', { class: 'repl' }, lagRows(now, s)),
    el('td', { class: 'nowrap' }, el('div', {}, s.version || '—'),
      el('div', { class: 'muted' }, s.up_time ? 'up ' + dur(now - s.up_time) : '')));
}

function groupCard(now, g) {
  const storages = g.storages || [];
  const live = storages.filter((s) => s.state !== 'DELETED').length;
  const head = el('div', { class: 'group-head' },
    el('h2', {}, g.name),
    el('span', { class: 'badge ' + (g.active === live && live > 0 ? 'ACTIVE' : 'OFFLINE') }, g.active + ' of ' + live + ' active'),
    el('span', { class: 'meta' }, g.total_bytes ? bytes(g.free_bytes) + ' free of ' + bytes(g.total_bytes) + ' (least free writable storage)' : 'no writable storage'),
    g.trunk_server ? el('span', { class: 'meta' }, 'trunk server ' + g.trunk_server) : null);
  const table = el('table', {},
    el('thead', {}, el('tr', {}, ['Storage', 'State', 'Free space per store path', 'Heartbeat', 'Replication', 'Version'].map((h) => el('th', {}, h)))),
    el('tbody', {}, storages.map((s) => storageRow(now, s))));
  return el('section', { class: 'card group', 'data-group': g.name }, head, el('div', { class: 'scroll' }, table));
}

function stat(label, value, sub, bad) {
  return el('div', { class: 'stat' + (bad ? ' bad' : '') },
    el('div', { class: 'label' }, label), el('div', { class: 'value' }, value), el('div', { class: 'sub' }, sub || ''));
}

function render(v) {
  const now = v.now;
  const t = v.tracker || {};
  const groups = v.groups || [];
  const peers = t.peers || [];
  $('tracker').replaceChildren('tracker ', el('b', {}, t.addr || '?'), ' · ',
    t.is_leader ? 'the leader' : t.leader ? 'leader ' + t.leader : 'no leader known');

  let storages = 0, active = 0, free = 0, total = 0;
  for (const g of groups) {
    for (const s of g.storages || []) if (s.state !== 'DELETED') storages++;
    active += g.active;
    free += g.free_bytes;
    total += g.total_bytes;
  }
  const alive = peers.filter((p) => p.alive).length;
  const problems = (v.events || []).filter((e) => e.level !== 'info').length;
  $('summary').replaceChildren(
    stat('Groups', groups.length, groups.map((g) => g.name).join(', ')),
    stat('Storages active', active + ' / ' + storages, storages - active ? (storages - active) + ' not active' : 'all active', active < storages),
    stat('Free space', bytes(free), 'of ' + bytes(total) + ' (sum over groups)'),
    stat('Trackers alive', (peers.length ? alive : 1) + ' / ' + Math.max(peers.length, 1), t.leader ? 'leader ' + t.leader : 'no leader known', !t.leader),
    stat('Recent problems', problems, v.events_dropped ? v.events_dropped + ' older ones dropped' : 'kept in memory', problems > 0));

  $('groups').replaceChildren(...(groups.length ? groups.map((g) => groupCard(now, g))
    : [el('section', { class: 'card' }, el('div', { class: 'empty' }, 'No storage has joined this tracker yet.'))]));

  const events = v.events || [];
  $('events').replaceChildren(events.length
    ? el('div', { class: 'scroll' }, el('table', {},
      el('thead', {}, el('tr', {}, ['Time', 'Level', 'Where', 'What'].map((h) => el('th', {}, h)))),
      el('tbody', {}, events.map((e) => el('tr', { 'data-event': e.level },
        el('td', { class: 'nowrap', title: 'first ' + clock(e.first) }, el('div', {}, clock(e.time)), el('div', { class: 'muted' }, ago(now, e.time, true))),
        el('td', {}, el('span', { class: 'badge ' + e.level }, e.level)),
        el('td', {}, el('div', {}, e.storage || '—'), el('div', { class: 'muted' }, e.group || '')),
        el('td', {}, el('div', {}, e.message, e.count > 1 ? el('span', { class: 'badge light' }, '×' + e.count) : null),
          e.detail ? el('div', { class: 'mono muted' }, e.detail) : null))))))
    : el('div', { class: 'empty' }, 'Nothing to report.'));

  const list = peers.length ? peers : [{ addr: t.addr, alive: true, leader: t.is_leader }];
  $('trackers').replaceChildren(...list.map((p) => el('div', { class: 'peer', 'data-tracker': p.addr },
    el('span', { class: 'dot ' + (p.alive ? 'alive' : 'dead') }), el('span', { class: 'mono' }, p.addr),
    p.leader ? el('span', { class: 'badge info' }, 'leader') : null,
    p.addr === t.addr ? el('span', { class: 'muted' }, 'this tracker') : null,
    p.alive ? null : el('span', { class: 'muted' }, 'not answering gossip'))));
}

let lastOK = 0;

async function tick() {
  try {
    const r = await fetch('state.json', { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status + ': ' + (await r.text()).trim());
    render(await r.json());
    lastOK = Date.now();
    $('banner').hidden = true;
    $('status').className = 'status ok';
    $('updated').textContent = 'updated ' + new Date(lastOK).toLocaleTimeString([], { hour12: false });
  } catch (err) {
    $('banner').hidden = false;
    $('banner').textContent = 'The tracker did not answer (' + err.message + ')' +
      (lastOK ? '; showing what it said at ' + new Date(lastOK).toLocaleTimeString([], { hour12: false }) : '') + '.';
    $('status').className = 'status bad';
  } finally {
    setTimeout(tick, period);
  }
}

tick();
