// The interpreter's console: /booth?session=ID#token=TOKEN (an interpreter token bound to its
// booth; &booth=LANG for a token bound to none, &name=NAME for the technician's list). The token
// stays in the fragment, which never reaches a server or its logs.
//
// One WebRTC connection carries the microphone up (echo cancellation and auto gain off, noise
// suppression as chosen) and the console's return feed down; the daemon bridges it to a console
// of the session (POST /booth/{session}/console). The desk functions are the BoothService RPCs
// through the JSON API (POST /api/v1/BoothService/...), and the booth's state comes from
// WatchBooth as Server-Sent Events read with fetch(). A lost connection reconnects by itself to
// the same console. window.tilmashBooth exposes what the page knows, for tests and technicians.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const query = new URLSearchParams(location.search);
  const session = query.get('session') || '';
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  const B = (window.tilmashBooth = {
    state: 'idle', error: null, consoleId: '', booth: '', console: null, boothState: null, reconnects: 0,
    messages: [], onsets: { voice: [], ret: [] },
  });

  function fail(text) {
    B.error = text;
    $('error').textContent = text;
  }
  function setLink(state, text) {
    B.state = state;
    const el = $('ind-link');
    el.textContent = text || state;
    el.className = 'ind ' + (state === 'connected' ? 'up' : 'down');
  }

  // ---------------------------------------------------------------- the API
  async function api(method, body) {
    const r = await fetch('/api/v1/' + method, {
      method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
      body: JSON.stringify(body), cache: 'no-store' });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(j.message || 'HTTP ' + r.status);
    return j;
  }
  async function desk(method, extra) {
    try {
      $('error').textContent = '';
      const t0 = performance.now();
      const r = await api('BoothService/' + method, { sessionId: session, consoleId: B.consoleId, ...extra });
      B.lastCall = { method, ms: Math.round(performance.now() - t0) };
      return r;
    } catch (e) {
      fail(method + ': ' + e.message);
      return null;
    }
  }
  function claims() {
    try {
      const p = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(p + '='.repeat((4 - (p.length % 4)) % 4)));
    } catch (e) {
      return {};
    }
  }

  // ---------------------------------------------------------------- audio
  let coughHeld = false;
  let ctx = null, micStream = null, micSource = null, outAnalyser = null, retAnalyser = null;
  let retSource = null, bass = null, treble = null, volume = null, onsetNode = null;
  const ONSET_WORKLET = `
    class Onset extends AudioWorkletProcessor {
      constructor() { super(); this.quiet = [true, true]; }
      process(inputs) {
        for (let i = 0; i < 2; i++) {
          const ch = inputs[i] && inputs[i][0];
          if (!ch) continue;
          let s = 0;
          for (let k = 0; k < ch.length; k++) s += ch[k] * ch[k];
          const db = 10 * Math.log10(s / ch.length + 1e-12);
          if (this.quiet[i] && db > -40) { this.quiet[i] = false; this.port.postMessage({ input: i, t: currentTime }); }
          else if (!this.quiet[i] && db < -55) this.quiet[i] = true;
        }
        return true;
      }
    }
    registerProcessor('tilmash-onset', Onset);`;

  async function startAudio() {
    ctx = new AudioContext({ latencyHint: 'interactive', sampleRate: 48000 });
    outAnalyser = ctx.createAnalyser();
    outAnalyser.fftSize = 2048;
    retAnalyser = ctx.createAnalyser();
    retAnalyser.fftSize = 2048;
    bass = ctx.createBiquadFilter();
    bass.type = 'lowshelf';
    bass.frequency.value = 250;
    treble = ctx.createBiquadFilter();
    treble.type = 'highshelf';
    treble.frequency.value = 3000;
    volume = ctx.createGain();
    bass.connect(treble).connect(volume);
    volume.connect(retAnalyser);
    volume.connect(ctx.destination);
    try {
      // Onsets of the voice and of the return feed, stamped by the audio thread: latency figures.
      const url = URL.createObjectURL(new Blob([ONSET_WORKLET], { type: 'text/javascript' }));
      await ctx.audioWorklet.addModule(url);
      onsetNode = new AudioWorkletNode(ctx, 'tilmash-onset', { numberOfInputs: 2, numberOfOutputs: 0 });
      onsetNode.port.onmessage = (e) => {
        const wall = performance.timeOrigin + performance.now() - (ctx.currentTime - e.data.t) * 1000;
        const list = e.data.input === 0 ? B.onsets.voice : B.onsets.ret;
        list.push(Math.round(wall));
        if (list.length > 500) list.shift();
      };
      volume.connect(onsetNode, 0, 1);
    } catch (e) {
      onsetNode = null;
    }
    ctx.resume();
  }

  async function openMic() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: {
      echoCancellation: false, autoGainControl: false, noiseSuppression: $('ns').checked, channelCount: 1 } });
    if (micSource) micSource.disconnect();
    micSource = ctx.createMediaStreamSource(stream);
    micSource.connect(outAnalyser);
    if (onsetNode) micSource.connect(onsetNode, 0, 0);
    if (micStream) micStream.getTracks().forEach((t) => t.stop());
    micStream = stream;
    stream.getAudioTracks().forEach((t) => { t.enabled = !coughHeld; });
    return stream.getAudioTracks()[0];
  }

  function attachReturn(stream) {
    // Chromium plays a remote stream into Web Audio only while a media element holds it.
    $('return-audio').srcObject = stream;
    if (retSource) retSource.disconnect();
    retSource = ctx.createMediaStreamSource(stream);
    retSource.connect(bass);
  }

  const buf = new Float32Array(2048);
  function levelDb(analyser) {
    analyser.getFloatTimeDomainData(buf);
    let s = 0;
    for (let i = 0; i < buf.length; i++) s += buf[i] * buf[i];
    return 10 * Math.log10(s / buf.length + 1e-12);
  }
  function dominantHz(analyser) {
    const f = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(f);
    let best = 1;
    for (let i = 2; i < f.length; i++) if (f[i] > f[best]) best = i;
    return (best * ctx.sampleRate) / analyser.fftSize;
  }
  B.micDb = () => (outAnalyser ? levelDb(outAnalyser) : -120);
  B.returnDb = () => (retAnalyser ? levelDb(retAnalyser) : -120);
  B.returnHz = () => (retAnalyser && B.returnDb() > -60 ? dominantHz(retAnalyser) : 0);
  function showMeter(id, db) {
    $(id).value = Math.max(-60, db);
    $(id + '-db').textContent = db < -59 ? '-∞' : db.toFixed(0);
  }
  setInterval(() => {
    if (!ctx) return;
    showMeter('meter-out', B.micDb());
    showMeter('meter-ret', B.returnDb());
  }, 60);

  // ---------------------------------------------------------------- the connection
  let pc = null, sender = null, retryMs = 500, retryTimer = null, graceTimer = null;
  function gathered(peer) {
    if (peer.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => peer.iceGatheringState === 'complete' && resolve();
      peer.addEventListener('icegatheringstatechange', done);
      setTimeout(resolve, 2000);
    });
  }
  async function connect() {
    clearTimeout(retryTimer);
    setLink(B.consoleId ? 'reconnecting' : 'connecting', B.consoleId ? 'reconnecting…' : 'connecting…');
    if (pc) pc.close();
    const peer = (pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' }));
    const track = micStream.getAudioTracks()[0];
    sender = peer.addTransceiver(track, { direction: 'sendrecv', streams: [micStream] }).sender;
    peer.ontrack = (e) => attachReturn(e.streams[0] || new MediaStream([e.track]));
    peer.onconnectionstatechange = () => {
      if (peer !== pc) return;
      const s = peer.connectionState;
      if (s === 'connected') {
        retryMs = 500;
        clearTimeout(graceTimer);
        setLink('connected', 'connected');
      } else if (s === 'disconnected') {
        // Often passing (a few consent checks lost on a bad line, the audio still flowing):
        // starting over would cost seconds of dead air, so ICE gets 3 s to recover first.
        clearTimeout(graceTimer);
        graceTimer = setTimeout(() => { if (peer === pc && peer.connectionState === 'disconnected') lost(); }, 3000);
      } else if (s === 'failed' || s === 'closed') {
        lost();
      }
    };
    try {
      await peer.setLocalDescription(await peer.createOffer());
      await gathered(peer);
      const q = new URLSearchParams({ booth: B.booth, name: query.get('name') || 'browser', console: B.consoleId });
      const r = await fetch('/booth/' + encodeURIComponent(session) + '/console?' + q, {
        method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/sdp' },
        body: peer.localDescription.sdp });
      const text = await r.text();
      if (r.status !== 201) throw new Error(text.trim() || 'HTTP ' + r.status);
      const was = B.consoleId;
      B.consoleId = (r.headers.get('Location') || '').split('/').pop();
      if (was && was !== B.consoleId) B.reconnects++;
      else if (was) B.reconnects++;
      await peer.setRemoteDescription({ type: 'answer', sdp: text });
      $('console-name').textContent = B.consoleId;
      $('error').textContent = '';
    } catch (e) {
      fail('connection: ' + e.message);
      lost();
    }
  }
  function lost() {
    if (B.state === 'reconnecting' && retryTimer) return;
    setLink('reconnecting', 'link lost: reconnecting…');
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  }
  function leave() {
    if (!B.consoleId) return;
    fetch('/booth/' + encodeURIComponent(session) + '/console/' + B.consoleId, {
      method: 'DELETE', headers: { Authorization: 'Bearer ' + token }, keepalive: true });
    B.consoleId = '';
  }
  window.addEventListener('pagehide', leave);
  // The network failing under the page, for tests: the connection closes as a dead link would.
  B.drop = () => {
    if (pc) pc.close();
    lost();
  };

  // ---------------------------------------------------------------- the booth's state
  let sessionInfo = null;
  async function refreshSession() {
    try {
      sessionInfo = await api('SessionService/GetSession', { sessionId: session });
      render();
    } catch (e) { /* shown by the next call that fails */ }
  }
  async function watch() {
    for (;;) {
      try {
        const r = await fetch('/api/v1/BoothService/WatchBooth', {
          method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
          body: JSON.stringify({ sessionId: session, booth: B.booth }), cache: 'no-store' });
        if (!r.ok) throw new Error((await r.json().catch(() => ({}))).message || 'HTTP ' + r.status);
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let pending = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          pending += dec.decode(value, { stream: true });
          let i;
          while ((i = pending.indexOf('\n\n')) >= 0) {
            const frame = pending.slice(0, i);
            pending = pending.slice(i + 2);
            const ev = (frame.match(/^event: (.*)$/m) || [])[1];
            const data = (frame.match(/^data: (.*)$/m) || [])[1];
            if (ev === 'message' && data) onBoothEvent(JSON.parse(data));
            else if (ev === 'end' && data) fail('booth events: ' + (JSON.parse(data).message || 'ended'));
          }
        }
      } catch (e) {
        fail('booth events: ' + e.message);
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
  function onBoothEvent(e) {
    if (e.state) {
      B.boothState = e.state;
      refreshSession();
    }
    if (e.message) addMessage(e.message, true);
    if (e.handover) B.lastHandover = e.handover;
    render();
  }
  function addMessage(m, incoming) {
    B.messages.push(m);
    const li = document.createElement('li');
    li.className = incoming && m.from !== B.consoleId ? 'in' : '';
    const kind = m.kind === 'SLOW_DOWN' ? 'slow down' : m.kind === 'CALL_TECHNICIAN' ? 'technician called' : m.text;
    li.textContent = `${m.from} → ${m.to}: ${kind}`;
    $('messages').appendChild(li);
    li.scrollIntoView({ block: 'nearest' });
  }

  function button(label, selected, onclick, title) {
    const b = document.createElement('button');
    b.className = 'key' + (selected ? ' selected' : '');
    b.setAttribute('role', 'radio');
    b.setAttribute('aria-checked', String(selected));
    b.textContent = label;
    if (title) b.title = title;
    b.onclick = onclick;
    return b;
  }
  function render() {
    const st = B.boothState;
    if (!st) return;
    const me = (st.consoles || []).find((c) => c.id === B.consoleId) || null;
    B.console = me;
    $('booth-name').textContent = st.language;
    $('ind-onair').className = 'ind' + (st.onAir ? ' on' : '');
    $('ind-rec').className = 'ind' + (st.recorded ? ' on' : '');
    // The microphone key and its lamp.
    const mic = me ? me.mic : 'MIC_OFF';
    const k = $('mic');
    k.className = 'mic ' + (mic === 'MIC_LIVE' ? 'live' : mic === 'MIC_MUTED' ? 'muted' : 'off');
    k.setAttribute('aria-pressed', String(mic !== 'MIC_OFF'));
    $('mic-label').textContent = mic === 'MIC_LIVE' ? 'ON AIR' : mic === 'MIC_MUTED' ? 'COUGH' : 'MIC';
    $('cough').classList.toggle('held', mic === 'MIC_MUTED');
    // Outgoing: A, B, C with the booth's channels; who has the channel (interlock).
    const out = $('outputs');
    out.textContent = '';
    const slots = [['OUTPUT_A', st.language], ['OUTPUT_B', st.retourB], ['OUTPUT_C', st.retourC]];
    for (const [slot, lang] of slots) {
      const b = button(slot.slice(-1) + (lang ? ' · ' + lang : ''), me && me.outputSlot === slot,
        () => desk('SelectOutput', { slot }));
      b.disabled = !lang;
      out.appendChild(b);
    }
    const channels = st.channels || [];
    const mine = channels.find((c) => me && c.language === me.outputChannel);
    $('audience').textContent = mine ? mine.listenerCount : 0;
    $('relay-by').textContent = mine ? mine.usedAsRelayBy : 0;
    const holder = mine && mine.liveConsoleId && mine.liveConsoleId !== B.consoleId ? mine.liveConsoleId : '';
    B.engagedBy = holder;
    $('engaged').textContent = holder ? `${mine.language} is engaged by ${holder} (interlock: ${st.interlockMode.toLowerCase().replace('_', ' ')})` : '';
    // Incoming: floor, auto and every channel with its relay generation.
    const inp = $('inputs');
    inp.textContent = '';
    const sel = me ? me.input || {} : {};
    inp.appendChild(button('Floor', sel.floor === true, () => desk('SelectInput', { input: { floor: true } })));
    inp.appendChild(button('Auto', sel.auto === true || (!sel.floor && !sel.channel),
      () => desk('SelectInput', { input: { auto: true } }), 'follows the floor language'));
    const all = sessionInfo ? sessionInfo.channels.filter((c) => c.language !== 'floor') : channels;
    for (const c of all) {
      if (c.language === st.language) continue;
      const gen = ['', ' ·R', ' ·RR'][c.relayGeneration] || '';
      inp.appendChild(button(c.language + gen, sel.channel === c.language,
        () => desk('SelectInput', { input: { channel: c.language } }),
        c.relayGeneration ? 'a relay (generation ' + c.relayGeneration + ')' : 'interpreted from the floor'));
    }
    $('hearing').textContent = me ? me.effectiveInput || 'floor' : '—';
    // Handover: who is live, who asked.
    const pendingToMe = st.handoverFrom === B.consoleId && st.handoverTo;
    const iAsked = st.handoverTo === B.consoleId;
    $('handover-state').textContent = pendingToMe ? `${st.handoverTo} asks for the channel`
      : iAsked ? `asked ${st.handoverFrom} for the channel…` : 'no handover pending';
    $('ho-accept').disabled = !pendingToMe;
    $('ho-decline').disabled = !pendingToMe;
    $('ho-request').disabled = !me || mic !== 'MIC_OFF' || iAsked;
    const partners = $('partners');
    partners.textContent = '';
    for (const c of st.consoles || []) {
      if (c.id === B.consoleId) continue;
      const li = document.createElement('li');
      li.textContent = `${c.name || c.id}: ${c.mic === 'MIC_LIVE' ? 'live' : c.mic === 'MIC_MUTED' ? 'cough' : 'off'}` +
        ` → ${c.outputChannel}${c.linkLost ? ' (link lost)' : ''}`;
      partners.appendChild(li);
    }
  }

  // ---------------------------------------------------------------- the keys
  const micLive = () => B.console && B.console.mic !== 'MIC_OFF';
  const toggleMic = () => desk('SetMic', { live: !micLive() });
  // Cough cuts the microphone in the page at once, as a desk's key cuts its capsule, and tells
  // the server (the console's state, its lamp, the events; the server's ramp follows).
  const cough = (held) => {
    if (held === coughHeld) return;
    coughHeld = held;
    if (micStream) micStream.getAudioTracks().forEach((t) => { t.enabled = !held; });
    desk('Cough', { muted: held });
  };
  const handoverKey = () => {
    const st = B.boothState;
    if (st && st.handoverFrom === B.consoleId && st.handoverTo) desk('AcceptHandover', {});
    else desk('RequestHandover', {});
  };
  $('mic').onclick = toggleMic;
  $('cough').onpointerdown = () => cough(true);
  $('cough').onpointerup = () => cough(false);
  $('cough').onpointerleave = () => cough(false);
  $('ho-request').onclick = () => desk('RequestHandover', {});
  $('ho-accept').onclick = () => desk('AcceptHandover', {});
  $('ho-decline').onclick = () => desk('DeclineHandover', {});
  const send = async (kind, to, text) => {
    try {
      await api('BoothService/SendMessage', { sessionId: session, message: { kind, from: B.consoleId, to, text: text || '' } });
      addMessage({ kind, from: B.consoleId, to, text }, false);
    } catch (e) {
      fail('SendMessage: ' + e.message);
    }
  };
  $('msg-slow').onclick = () => send('SLOW_DOWN', 'chair');
  $('msg-tech').onclick = () => send('CALL_TECHNICIAN', 'technician');
  $('msg-form').onsubmit = (e) => {
    e.preventDefault();
    const text = $('msg-text').value.trim();
    if (!text) return;
    send('TEXT', $('msg-to').value, text);
    $('msg-text').value = '';
  };
  document.addEventListener('keydown', (e) => {
    if (e.target.closest('input, select, textarea') || e.ctrlKey || e.metaKey || e.altKey) return;
    if ((e.key === 'm' || e.key === ' ') && !e.repeat) {
      e.preventDefault();
      toggleMic();
    } else if (e.key === 'c') {
      cough(true);
    } else if (e.key === 'h' && !e.repeat) {
      handoverKey();
    }
  });
  document.addEventListener('keyup', (e) => {
    if (e.key === 'c') cough(false);
  });
  $('vol').oninput = (e) => { if (volume) volume.gain.value = +e.target.value; };
  $('bass').oninput = (e) => { if (bass) bass.gain.value = +e.target.value; };
  $('treble').oninput = (e) => { if (treble) treble.gain.value = +e.target.value; };
  $('ns').onchange = async () => {
    const track = await openMic();
    if (sender) await sender.replaceTrack(track);
  };
  // For tests and automation: what a click on each control does.
  B.press = { mic: toggleMic, cough, handover: handoverKey, decline: () => desk('DeclineHandover', {}),
    output: (slot) => desk('SelectOutput', { slot }), input: (input) => desk('SelectInput', { input }), send };

  // ---------------------------------------------------------------- start
  (async () => {
    if (!session || !token) {
      setLink('error', 'no session or token');
      fail('open /booth?session=ID#token=<interpreter token>');
      return;
    }
    B.booth = query.get('booth') || claims().booth || '';
    if (!B.booth) {
      setLink('error', 'which booth?');
      fail('the token is bound to no booth: add &booth=LANGUAGE to the address');
      return;
    }
    $('booth-name').textContent = B.booth;
    try {
      await startAudio();
      await openMic();
    } catch (e) {
      setLink('error', 'no microphone');
      fail('microphone: ' + e.message);
      return;
    }
    watch();
    refreshSession();
    connect();
  })();
})();
