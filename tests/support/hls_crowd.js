#!/usr/bin/env node
// A crowd of HLS players, as hls.js plays a live stream: each fetches the live playlist, starts
// three segments back from its end, fetches every new segment the playlist lists, and asks for
// the playlist again one target duration later (half that when it had not changed, as hls.js
// does). Keep-alive connections (one per player). Each
// player plays what it fetched in real time once it holds three target durations: when it has
// played all it has, it stalls (waits) until the next segment comes. Prints one JSON line:
// requests, errors, the segments seen, each player's stalled time and the longest time its
// playlist did not advance.
//
// Usage: hls_crowd.js URL_OF_PLAYLIST CLIENTS SECONDS
'use strict';
const http = require('http');

const [url, clientsArg, secondsArg] = process.argv.slice(2);
const clients = Number(clientsArg), seconds = Number(secondsArg);
const base = new URL(url);
const start = Date.now(), end = start + seconds * 1000;
const result = {requests: 0, playlist_requests: 0, segment_requests: 0, errors: 0, error_samples: [],
                cache: {}, segments: new Set(), stalls_ms: [], stalled_ms: []};

function get(agent, path) {
  return new Promise((resolve) => {
    const req = http.get({host: base.hostname, port: base.port, path, agent}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode, body: Buffer.concat(chunks),
                                   cache: res.headers['x-cache-status'] || '-'}));
    });
    req.on('error', (e) => resolve({status: 0, body: Buffer.alloc(0), error: e.message}));
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
  });
}

function fail(what) {
  result.errors++;
  if (result.error_samples.length < 5) result.error_samples.push(what);
}

async function player(i) {
  // Players join over the first second, as an audience does.
  await new Promise((r) => setTimeout(r, (i * 1000) / clients));
  const agent = new http.Agent({keepAlive: true, maxSockets: 1});
  const dir = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
  const fetched = new Set();
  let lastEdge = '', lastAdvance = Date.now(), longest = 0;
  let loaded = 0, playingSince = 0, stalled = 0;  // seconds of media fetched; ms; ms
  // What a player has played by `now`, and the stall its empty buffer forced (it waits).
  const play = (now) => {
    if (!playingSince) return;
    const deficit = (now - playingSince - stalled) / 1000 - loaded;
    if (deficit > 0) stalled += deficit * 1000;
  };
  let advanced = true;
  while (Date.now() < end) {
    const asked = Date.now();
    const p = await get(agent, base.pathname);
    result.requests++;
    result.playlist_requests++;
    result.cache[p.cache] = (result.cache[p.cache] || 0) + 1;
    if (p.status !== 200) {
      fail(`playlist ${p.status} ${p.error || ''}`);
    } else {
      const text = p.body.toString();
      const t = /#EXT-X-TARGETDURATION:(\d+)/.exec(text);
      const target = t ? Number(t[1]) : 1;
      const entries = [];
      let duration = target;
      for (const line of text.split('\n')) {
        const l = line.trim();
        if (l.startsWith('#EXTINF:')) duration = parseFloat(l.slice(8));
        else if (l && !l.startsWith('#')) entries.push({uri: l, duration});
      }
      // The playlist advanced when it lists a newer last segment than before.
      const edge = entries.length ? entries[entries.length - 1].uri : '';
      const now = Date.now();
      advanced = edge !== lastEdge;
      if (advanced) {
        if (lastEdge) longest = Math.max(longest, now - lastAdvance);
        lastEdge = edge;
        lastAdvance = now;
      }
      // Joining: the live edge less three segments, as hls.js does.
      if (fetched.size === 0) entries.slice(0, Math.max(0, entries.length - 3)).forEach((e) => fetched.add(e.uri));
      for (const e of entries) {
        if (fetched.has(e.uri)) continue;
        fetched.add(e.uri);
        const s = await get(agent, dir + e.uri);
        result.requests++;
        result.segment_requests++;
        result.cache[s.cache] = (result.cache[s.cache] || 0) + 1;
        if (s.status !== 200 || s.body.length === 0) {
          fail(`segment ${e.uri} ${s.status} ${s.error || ''}`);
          continue;
        }
        result.segments.add(e.uri);
        play(Date.now());
        loaded += e.duration;
        if (!playingSince && loaded >= 3 * target * 0.95) playingSince = Date.now();
      }
    }
    play(Date.now());
    // The next reload one target duration later, half that when the playlist had not moved (hls.js).
    const wait = (advanced ? 1000 : 500) - (Date.now() - asked);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  longest = Math.max(longest, Date.now() - lastAdvance);
  result.stalls_ms.push(longest);
  result.stalled_ms.push(playingSince ? stalled : -1);
  agent.destroy();
}

Promise.all(Array.from({length: clients}, (_, i) => player(i))).then(() => {
  const stalls = result.stalls_ms.sort((a, b) => a - b);
  console.log(JSON.stringify({
    clients, seconds: (Date.now() - start) / 1000, requests: result.requests,
    playlist_requests: result.playlist_requests, segment_requests: result.segment_requests,
    errors: result.errors, error_samples: result.error_samples, cache: result.cache,
    segments: [...result.segments].sort(),
    playlist_still_ms: {p50: stalls[Math.floor(stalls.length / 2)], p99: stalls[Math.floor(stalls.length * 0.99)],
                        max: stalls[stalls.length - 1]},
    never_played: result.stalled_ms.filter((x) => x < 0).length,
    stalled_players: result.stalled_ms.filter((x) => x > 0).length,
    stalled_ms_max: Math.max(0, ...result.stalled_ms),
  }));
});
