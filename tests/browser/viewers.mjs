// Load for the WHEP side of a running tilmashd: ONE headless chromium page (on the daemon's origin,
// a 404 page with no script of its own) opens N RTCPeerConnections, each a recvonly audio
// transceiver doing its own WHEP POST (Authorization: Bearer). Nothing is played (no audio
// element, no AudioContext), so chromium only receives. Once the connections are up it waits
// --settle seconds, samples getStats() at the start and the end of a --seconds window and prints
// one JSON line per phase:
//   {"phase":"connected", ...} every WHEP answer is in and the connections are up (or 20 s passed)
//   {"phase":"measure", ...}  the window starts now (the caller samples the daemon's CPU)
//   {"phase":"result", ...}   the window's numbers: connected, receiving, packets, loss, jitter
// Then it closes every connection, DELETEs every WHEP resource and closes chromium.
// ever_received counts connections that got packets at some time (receiving: in the window).
// Usage: node viewers.mjs --base http://127.0.0.1:PORT --session ID --channel CH --token T
//          --viewers N [--settle 3] [--seconds 10] [--parallel 8] [--linger 1]
import { openPage } from './chromium.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf('--' + name); return i < 0 ? dflt : args[i + 1]; };
const base = opt('base').replace(/\/$/, '');
const cfg = { session: opt('session', 'bench'), channel: opt('channel', 'floor'), token: opt('token', ''),
  n: +opt('viewers', 1), parallel: +opt('parallel', 8) };
const settle = +opt('settle', 3), seconds = +opt('seconds', 10), linger = +opt('linger', 1);
const out = (o) => console.log(JSON.stringify(o));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { browser, page, lines: console_lines } = await openPage();
try {
  await page.goto(base + '/viewers-bench');  // the daemon's origin: WHEP needs no CORS from here
  const t0 = Date.now();
  const opened = await page.evaluate(async (c) => {
    window.viewers = [];
    const one = async () => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const v = { pc, resource: null, error: null };
      window.viewers.push(v);
      try {
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((resolve) => {  // no trickle: the offer carries every candidate
          if (pc.iceGatheringState === 'complete') return resolve();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
          setTimeout(resolve, 2000);
        });
        const r = await fetch('/whep/' + c.session + '/' + c.channel, { method: 'POST',
          headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + c.token },
          body: pc.localDescription.sdp });
        if (r.status !== 201) throw new Error('WHEP ' + r.status + ': ' + (await r.text()).trim());
        v.resource = r.headers.get('Location');
        await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
      } catch (e) { v.error = String(e); }
    };
    // At most c.parallel handshakes at once (the daemon gathers ICE before it answers).
    let next = 0;
    const worker = async () => { while (next < c.n) { next++; await one(); } };
    await Promise.all(Array.from({ length: Math.min(c.parallel, c.n) }, worker));
    const errors = window.viewers.map((v) => v.error).filter(Boolean);
    return { answered: window.viewers.length - errors.length, errors: errors.slice(0, 3), error_count: errors.length };
  }, cfg);
  // Wait (up to 20 s) for the connections to come up, then let them settle.
  const deadline = Date.now() + 20000;
  let up = 0;
  while (Date.now() < deadline) {
    up = await page.evaluate(() => window.viewers.filter((v) => v.pc.connectionState === 'connected').length);
    if (up >= opened.answered) break;
    await sleep(200);
  }
  out({ phase: 'connected', viewers: cfg.n, ...opened, connected: up, setup_ms: Date.now() - t0 });
  await sleep(settle * 1000);

  // Per connection: state and its inbound-rtp audio counters.
  const sample = () => page.evaluate(() => Promise.all(window.viewers.map(async (v) => {
    const s = { state: v.pc.connectionState, received: 0, lost: 0, jitter: null };
    if (v.error) return s;
    (await v.pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio')
        Object.assign(s, { received: r.packetsReceived || 0, lost: r.packetsLost || 0, jitter: r.jitter ?? null });
    });
    return s;
  })));
  const a = await sample();
  const ta = Date.now();
  out({ phase: 'measure', viewers: cfg.n });
  await sleep(seconds * 1000);
  const b = await sample();
  const window_s = (Date.now() - ta) / 1000;
  let received = 0, lost = 0, receiving = 0, connected = 0, ever = 0;
  const jitters = [];
  b.forEach((s, i) => {
    const dr = s.received - a[i].received, dl = Math.max(0, s.lost - a[i].lost);
    if (s.state === 'connected') connected++;
    if (s.state === 'connected' && dr > 0) receiving++;
    if (s.received > 0) ever++;  // got packets at some time since it connected
    received += dr; lost += dl;
    if (s.jitter !== null && dr > 0) jitters.push(s.jitter * 1000);
  });
  jitters.sort((x, y) => x - y);
  const pct = (q) => (jitters.length ? +jitters[Math.min(jitters.length - 1, Math.floor(q * jitters.length))].toFixed(2) : null);
  out({ phase: 'result', viewers: cfg.n, answered: opened.answered, connected, receiving,
    connected_silent: connected - receiving, ever_received: ever, window_s: +window_s.toFixed(3), packets_received: received,
    packets_lost: lost, loss_pct: received + lost ? +(100 * lost / (received + lost)).toFixed(3) : 0,
    pps_per_viewer: receiving ? +(received / receiving / window_s).toFixed(1) : 0,
    jitter_ms_p50: pct(0.5), jitter_ms_max: jitters.length ? +jitters[jitters.length - 1].toFixed(2) : null });

  // End every viewer: close the connection, DELETE its WHEP resource (after --linger seconds,
  // so the caller can stop the channel's audio first).
  await sleep(linger * 1000);
  await page.evaluate((token) => Promise.all(window.viewers.map(async (v) => {
    v.pc.close();
    if (v.resource)
      await fetch(v.resource, { method: 'DELETE', headers: { Authorization: 'Bearer ' + token } }).catch(() => {});
  })), cfg.token);
} catch (e) {
  out({ phase: 'error', error: String(e), console: console_lines.slice(-10) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
