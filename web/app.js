// Tilmash listener page: WebRTC (WHEP) first, HLS (hls.js) when WebRTC is not possible.
// URL: /?session=ID[&channel=ru][&hls=1]#token=BEARER  (the token stays in the fragment: it is
// never sent to a server log). window.tilmash exposes state for tests and technicians.
'use strict';
(function () {
  const q = new URLSearchParams(location.search);
  const frag = new URLSearchParams(location.hash.slice(1));
  const session = q.get('session') || 'demo';
  const token = frag.get('token') || q.get('token') || '';
  const forceHls = q.get('hls') === '1';
  const $ = (id) => document.getElementById(id);
  const T = (window.tilmash = { state: 'idle', transport: null, channel: null, error: null, latencyMs: null });

  let info = null, ctx = null, analyser = null, master = null, mainGain = null, floorGain = null;
  let main = null, floor = null;  // {pc, resource, hls} per stream
  const setState = (s, detail) => {
    T.state = s;
    $('state').textContent = detail ? s + ': ' + detail : s;
  };

  function audioGraph() {
    if (ctx) return;
    ctx = new AudioContext({ latencyHint: 'interactive' });
    master = ctx.createGain();
    analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;  // 43 ms at 48 kHz: the meter and the tone finder react fast
    mainGain = ctx.createGain();
    floorGain = ctx.createGain();
    mainGain.connect(master);
    floorGain.connect(master);
    master.connect(analyser);
    analyser.connect(ctx.destination);
    applyLevels();
  }

  function applyLevels() {
    const vol = $('volume').value / 100, bal = $('balance').value / 100;
    $('volume').setAttribute('aria-valuetext', Math.round(vol * 100) + ' %');
    $('balance').setAttribute('aria-valuetext', bal >= 1 ? 'interpretation only' : bal <= 0 ? 'original only'
      : Math.round(bal * 100) + ' % interpretation');
    if (!ctx) return;
    master.gain.value = vol;
    const isOriginal = T.channel === 'floor';
    mainGain.gain.value = isOriginal ? 1 : bal;
    floorGain.gain.value = isOriginal ? 0 : 1 - bal;
  }

  // One WHEP session: recvonly audio, the answer carries every ICE candidate.
  async function whep(channel) {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const track = new Promise((resolve) => (pc.ontrack = (e) => resolve(e.streams[0] || new MediaStream([e.track]))));
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
      setTimeout(resolve, 1000);
    });
    const r = await fetch('/whep/' + encodeURIComponent(session) + '/' + encodeURIComponent(channel), {
      method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + token },
      body: pc.localDescription.sdp });
    if (r.status !== 201) { pc.close(); throw new Error('WHEP ' + r.status + ': ' + (await r.text()).trim()); }
    const resource = r.headers.get('Location');
    await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    pc.onconnectionstatechange = () => { if (pc === (main && main.pc)) setState(pc.connectionState); };
    return { pc, resource, stream: await track };
  }

  function endStream(s) {
    if (!s) return;
    if (s.pc) {
      s.pc.close();
      if (s.resource) fetch(s.resource, { method: 'DELETE', headers: { Authorization: 'Bearer ' + token } }).catch(() => {});
    }
    if (s.hls) s.hls.destroy();  // the element and its Web Audio source stay for the next stream
    else if (s.source) s.source.disconnect();
  }

  async function startWebrtc(channel, element, gain) {
    const s = await whep(channel);
    // Chromium only feeds a remote stream into Web Audio when a media element also plays it.
    element.srcObject = s.stream;
    element.muted = true;
    element.play().catch(() => {});
    s.source = ctx.createMediaStreamSource(s.stream);
    s.source.connect(gain);
    return s;
  }

  function startHls(channel, element, gain) {
    const url = '/hls/' + encodeURIComponent(session) + '/' + encodeURIComponent(channel) + '/playlist.m3u8';
    const s = {};
    if (window.Hls && Hls.isSupported()) {
      s.hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2 });
      s.hls.loadSource(url);
      s.hls.attachMedia(element);
    } else {
      element.src = url;  // Safari plays HLS natively
    }
    element.muted = false;
    element.play().catch(() => {});
    if (!element.tilmashSource) element.tilmashSource = ctx.createMediaElementSource(element);
    element.tilmashSource.connect(gain);
    s.source = element.tilmashSource;
    return s;
  }

  async function start(channel, element, gain) {
    if (!forceHls && window.RTCPeerConnection && info.whep && token) {
      try {
        T.transport = 'webrtc';
        return await startWebrtc(channel, element, gain);
      } catch (e) {
        T.error = String(e.message || e);
        if (!info.hls) throw e;
      }
    }
    if (!info.hls) throw new Error('neither WebRTC nor HLS is available');
    T.transport = 'hls';
    return startHls(channel, element, gain);
  }

  // A WebRTC stream that is connected but brings no packets within 3 s is set up again (at
  // most twice): the listener should not have to press anything.
  let retries = 0;
  function watchdog(stream, channel) {
    setTimeout(async () => {
      if (stream !== main || !stream.pc) return;
      let packets = 0;
      (await stream.pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') packets = r.packetsReceived;
      });
      if (packets > 0) { retries = 0; return; }
      if (retries++ >= 2) { setState('no audio', channel); return; }
      T.reconnects = (T.reconnects || 0) + 1;
      listen();
    }, 3000);
  }

  async function listen() {
    audioGraph();
    await ctx.resume();
    const channel = $('language').value;
    setState('connecting', channel);
    try {
      // WebRTC: the new language connects before the old one ends (no gap). HLS reuses the
      // element, so the old stream ends first.
      let old = main;
      if (old && old.hls) { endStream(old); old = null; main = null; }
      main = await start(channel, $('audio'), mainGain);
      T.channel = channel;
      endStream(old);
      $('transport').textContent = T.transport === 'webrtc' ? 'WebRTC' : 'HLS';
      // The original only while the balance asks for it.
      if (channel !== 'floor' && $('balance').value < 100 && !floor) floor = await start('floor', $('floor-audio'), floorGain);
      if ((channel === 'floor' || $('balance').value >= 100) && floor) { endStream(floor); floor = null; }
      applyLevels();
      setState(T.transport === 'hls' ? 'playing (HLS)' : main.pc.connectionState, channel);
      $('play').textContent = 'Listening';
      if (main.pc) watchdog(main, channel);
    } catch (e) {
      T.error = String(e.message || e);
      setState('failed', T.error);
    }
  }

  // Level meter and measured latency (WebRTC: network + jitter buffer + playout, from getStats).
  const buf = new Float32Array(2048);
  function meter() {
    if (analyser) {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      const db = 10 * Math.log10(sum / buf.length + 1e-12);
      T.levelDb = db;
      $('level').textContent = (db < -90 ? '–' : db.toFixed(0)) + ' dB';
      $('meter-bar').style.width = Math.max(0, Math.min(100, (db + 60) * 100 / 60)) + '%';
    }
    requestAnimationFrame(meter);
  }
  async function stats() {
    if (main && main.pc) {
      let rtt = 0, jb = 0, packets = 0, level = null;
      (await main.pc.getStats()).forEach((r) => {
        if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime) rtt = r.currentRoundTripTime;
        if (r.type === 'inbound-rtp' && r.kind === 'audio') {
          packets = r.packetsReceived;
          level = r.audioLevel;
          if (r.jitterBufferEmittedCount) jb = r.jitterBufferDelay / r.jitterBufferEmittedCount;
        }
      });
      const out = ctx ? (ctx.outputLatency || 0) + (ctx.baseLatency || 0) : 0;
      T.latencyMs = Math.round((rtt / 2 + jb + out) * 1000);
      T.packets = packets;
      T.audioLevel = level;
      $('latency').textContent = '≈ ' + T.latencyMs + ' ms';
    } else if (T.transport === 'hls') {
      const a = $('audio');
      if (a.buffered.length) T.latencyMs = Math.round((a.buffered.end(a.buffered.length - 1) - a.currentTime) * 1000);
      $('latency').textContent = T.latencyMs == null ? '–' : '≈ ' + (T.latencyMs / 1000).toFixed(1) + ' s buffered';
    }
    setTimeout(stats, 500);
  }
  // The strongest frequency the listener hears now (for tests: each language has its tone).
  T.dominantHz = function () {
    if (!analyser || !(T.levelDb > -60)) return 0;  // silence has no tone
    const f = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(f);
    let best = 0;
    for (let i = 1; i < f.length; i++) if (f[i] > f[best]) best = i;
    return (best * ctx.sampleRate) / analyser.fftSize;
  };
  T.select = (channel) => { $('language').value = channel; return listen(); };

  async function init() {
    $('volume').oninput = applyLevels;
    $('balance').oninput = () => { applyLevels(); };
    $('balance').onchange = () => { if (main) listen(); };
    $('language').onchange = () => { if (main) listen(); };
    $('play').onclick = listen;
    try {
      const r = await fetch('/api/sessions/' + encodeURIComponent(session));
      if (!r.ok) throw new Error((await r.text()).trim());
      info = await r.json();
    } catch (e) {
      setState('unavailable', 'session ' + session + ': ' + (e.message || e));
      return;
    }
    $('title').textContent = info.name || session;
    document.title = (info.name || session) + ' — Tilmash';
    const sel = $('language');
    for (const c of info.channels) {
      const o = document.createElement('option');
      o.value = c.channel;
      o.textContent = c.name;
      o.lang = c.language || '';
      sel.appendChild(o);
    }
    const want = q.get('channel');
    if (want && info.channels.some((c) => c.channel === want)) sel.value = want;
    sel.disabled = false;
    setState('ready', 'choose a language and press Listen');
    meter();
    stats();
  }
  init();
})();
