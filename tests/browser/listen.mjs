// Drives Debian's chromium (headless, playwright-core) through the listener page of a running
// tilmashd: picks each language in turn and reports, as one JSON line per language, what the
// page measured - the dominant frequency heard (Web Audio analyser), WebRTC packets and audio
// level, latency - and how long the switch took until the new language's tone was heard.
// With --watch HZ it then prints {"ready":true} and waits (up to 20 s) for HZ to become the
// dominant tone, printing {"heard_at_ms": <epoch ms>}: the caller changes the floor meanwhile
// and so measures glass-to-ear latency (floor change -> the browser hears it).
// Usage: node listen.mjs --url URL --expect ru:880,kk:1100 [--hls] [--screenshot FILE] [--watch HZ]
import { openPage } from './chromium.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf('--' + name); return i < 0 ? dflt : args[i + 1]; };
const url = opt('url');
const expect = opt('expect', '').split(',').filter(Boolean).map((kv) => kv.split(':')).map(([c, hz]) => [c, +hz]);
const hls = args.includes('--hls');
const screenshot = opt('screenshot');
const watch = +opt('watch', 0);
const near = (a, b) => Math.abs(a - b) < 40;  // the analyser's bins are 23.4 Hz wide

const { browser, page, lines: console_lines } = await openPage();
try {
  const u = new URL(url);
  if (hls) u.searchParams.set('hls', '1');
  await page.goto(u.toString());
  await page.waitForFunction(() => window.tilmash && window.tilmash.state.startsWith('ready'), null, { timeout: 10000 });
  for (const [channel, hz] of expect) {
    const t0 = Date.now();
    page.evaluate((c) => window.tilmash.select(c), channel);  // not awaited: the clock runs from the click
    const deadline = t0 + (hls ? 30000 : 10000);
    let heard = 0, first = null;
    while (Date.now() < deadline) {
      heard = await page.evaluate(() => window.tilmash.dominantHz());
      const st = await page.evaluate(() => window.tilmash.state);
      if (near(heard, hz) && st !== 'connecting') { first = Date.now() - t0; break; }
      await new Promise((r) => setTimeout(r, 20));
    }
    // Then listen for a second: how often is the tone the dominant one?
    let hits = 0, n = 0;
    for (; n < 20; n++) {
      if (near(await page.evaluate(() => window.tilmash.dominantHz()), hz)) hits++;
      await new Promise((r) => setTimeout(r, 50));
    }
    const t = await page.evaluate(() => ({ ...window.tilmash }));
    console.log(JSON.stringify({ channel, expect_hz: hz, heard_hz: heard, switch_ms: first, tone_share: hits / n,
      transport: t.transport, state: t.state, packets: t.packets ?? null, audio_level: t.audioLevel ?? null,
      latency_ms: t.latencyMs, level_db: t.levelDb, reconnects: t.reconnects ?? 0, error: t.error }));
  }
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  if (watch) {
    console.log(JSON.stringify({ ready: true }));
    const deadline = Date.now() + 20000;
    let at = null;
    while (Date.now() < deadline && at === null) {
      if (near(await page.evaluate(() => window.tilmash.dominantHz()), watch)) at = Date.now();
      else await new Promise((r) => setTimeout(r, 5));
    }
    console.log(JSON.stringify({ heard_at_ms: at }));
  }
} catch (e) {
  console.log(JSON.stringify({ error: String(e), console: console_lines.slice(-10) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
