// The technician's page: every session and channel on one screen, pushed by the daemon.
// URL: /tech#token=BEARER (an operator's or admin's token; the fragment never reaches a server
// or its logs). The events come from GET /tech/events as Server-Sent Events read with fetch()
// (EventSource cannot send an Authorization header): "state" on connect, on every change and
// once a second; "levels" ten times a second; "hls" (segments served) after each state.
// A stream that drops or goes quiet shows "disconnected" and is opened again.
'use strict';
(() => {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  const link = document.getElementById('link');
  const root = document.getElementById('sessions');
  const kQuietMs = 3000;  // levels come every 100 ms: this long without an event is a dead stream
  const tech = (window.tech = { connected: false, reconnects: 0, events: 0, error: '' });
  let lastLevels = {};
  let hlsBefore = null;  // {time, counts} of the previous "hls" event
  const hlsRate = {};    // session -> channel -> segments per second (about one per player)

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }
  const fmtDb = (v) => (v === null || v === undefined ? '–' : v.toFixed(1));

  function setLink(up, text) {
    tech.connected = up;
    link.className = 'link ' + (up ? 'up' : 'down');
    link.textContent = text;
  }

  function renderState(state) {
    const frag = document.createDocumentFragment();
    if (state.sessions.length === 0) frag.append(el('p', { class: 'empty' }, 'No sessions.'));
    for (const s of state.sessions) {
      const floor = s.floor.active === 'backup' ? `floor on BACKUP (${s.floor.reason})` : 'floor on primary';
      frag.append(el('h2', {}, `${s.name} · ${s.id}`, el('span', { class: 'floor' }, floor)));
      const head = el('tr', {}, ...['channel', 'on air', 'level (peak / RMS dBFS)', 'srtp', 'multicast', 'webrtc', 'hls/s',
        'relay gen', 'ingest loss', 'alarms', 'recording'].map((h) => el('th', {}, h)));
      const table = el('table', {}, el('thead', {}, head));
      const body = el('tbody');
      for (const c of s.channels) {
        const live = c.channel === 'floor' ? 'floor' : c.auto_floor ? 'auto-floor' : 'live ' + c.live_console;
        const src = el('td', { class: 'source ' + (c.auto_floor || c.channel === 'floor' ? 'auto' : 'live') }, live);
        const meter = el('span', { class: 'meter' }, el('div'));
        const db = el('span', { class: 'db' }, '–');
        const alarms = el('td', { class: 'alarms' });
        for (const id of c.alarms.link_lost) alarms.append(el('span', { class: 'alarm' }, 'LINK LOST ' + id));
        if (c.alarms.floor_backup) alarms.append(el('span', { class: 'alarm' }, 'FLOOR BACKUP'));
        if (c.alarms.clipping) alarms.append(el('span', { class: 'alarm clip' }, 'CLIPPING'));
        // The speaker-input monitor of the source on air.
        if (c.alarms.input_clipping) alarms.append(el('span', { class: 'alarm' }, 'INPUT CLIPPING ' + c.ingest.source));
        if (c.alarms.narrowband) alarms.append(el('span', { class: 'alarm' }, 'TELEPHONE BAND ' + c.ingest.source));
        const noise = c.ingest && c.ingest.noise_floor_dbfs !== null ? ` · noise ${fmtDb(c.ingest.noise_floor_dbfs)} dBFS` : '';
        const loss = c.ingest ? `${c.ingest.lost} lost · ${c.ingest.late} late · ${c.ingest.jitter_ms} ms${noise} (${c.ingest.source})` : '–';
        const hls = hlsRate[s.id] && hlsRate[s.id][c.channel] !== undefined ? hlsRate[s.id][c.channel].toFixed(1) : '0';
        body.append(el('tr', { 'data-session': s.id, 'data-channel': c.channel },
          el('td', {}, c.channel), src, el('td', { class: 'level' }, meter, db),
          el('td', { class: 'num' }, String(c.audience.srtp)), el('td', { class: 'num' }, String(c.audience.multicast)),
          el('td', { class: 'num' }, String(c.audience.webrtc)), el('td', { class: 'num hls' }, hls),
          el('td', { class: 'num' }, String(c.relay_generation)), el('td', { class: 'loss' }, loss), alarms,
          el('td', { class: 'rec ' + (c.recording ? 'on' : 'off') }, c.recording ? '● REC' : '–')));
      }
      table.append(body);
      frag.append(table);
    }
    root.replaceChildren(frag);
    renderLevels(lastLevels);
  }

  function renderLevels(levels) {
    lastLevels = levels;
    for (const row of root.querySelectorAll('tr[data-channel]')) {
      const l = (levels[row.dataset.session] || {})[row.dataset.channel];
      const [rms, peak, clipping] = l || [null, null, false];
      // The bar spans -60..0 dBFS of the peak.
      const width = peak === null ? 0 : Math.max(0, Math.min(100, ((peak + 60) / 60) * 100));
      row.querySelector('.meter > div').style.width = width + '%';
      const text = peak === null ? 'silence' : `${fmtDb(peak)} / ${fmtDb(rms)}`;
      const db = row.querySelector('.db');
      if (db.textContent !== text) db.textContent = text;
      const alarms = row.querySelector('.alarms');
      const shown = alarms.querySelector('.clip');
      if (clipping && !shown) alarms.append(el('span', { class: 'alarm clip' }, 'CLIPPING'));
      if (!clipping && shown) shown.remove();
    }
  }

  function countHls(counts) {
    const now = performance.now();
    if (hlsBefore) {
      const dt = (now - hlsBefore.time) / 1000;
      for (const [sid, chans] of Object.entries(counts)) {
        hlsRate[sid] = hlsRate[sid] || {};
        for (const [ch, n] of Object.entries(chans))
          hlsRate[sid][ch] = dt > 0 ? (n - ((hlsBefore.counts[sid] || {})[ch] || 0)) / dt : 0;
      }
    }
    hlsBefore = { time: now, counts };
  }

  function onEvent(name, data) {
    tech.events++;
    const j = JSON.parse(data);
    if (name === 'state') renderState(j);
    else if (name === 'levels') renderLevels(j.levels);
    else if (name === 'hls') countHls(j);
  }

  async function stream() {
    const abort = new AbortController();
    let quiet = setTimeout(() => abort.abort(), kQuietMs);
    try {
      const r = await fetch('/tech/events', { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store',
        signal: abort.signal });
      if (!r.ok) throw new Error(`${r.status} ${(await r.text()).trim()}`);
      setLink(true, 'connected');
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        clearTimeout(quiet);
        quiet = setTimeout(() => abort.abort(), kQuietMs);
        buf += value;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let name = 'message', data = '';
          for (const line of frame.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) onEvent(name, data);
        }
      }
    } catch (e) {
      tech.error = abort.signal.aborted ? 'no events for 3 s' : String(e.message || e);
    } finally {
      clearTimeout(quiet);
      abort.abort();
    }
  }

  async function run() {
    if (!token) {
      setLink(false, 'no token: open /tech#token=<operator token>');
      return;
    }
    for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
      const opened = Date.now();
      await stream();
      if (Date.now() - opened > 10000) delay = 500;  // it ran a while: come back quickly
      tech.reconnects++;
      setLink(false, `disconnected (${tech.error}) · retrying`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  run();
})();
