// Drives Debian's chromium (headless, playwright-core) through the technician page (/tech) of a
// running tilmashd and prints what the page shows as JSON lines, each stamped with the page's
// wall clock (Date.now(), epoch ms) at the moment the DOM changed:
//   {"ready":true,"t":...}                                 the page is connected and shows rows
//   {"row":"SESSION/CHANNEL","t":...,"source":"live c-1","audience":[srtp,multicast,webrtc],"relay_generation":0,
//    "alarms":"LINK LOST c-1","peak":-20.1,"rms":-23.1}
//                                                          a row's source, audience, alarms or levels (1 dB) changed
//   {"link":"connected","t":...}                           the connection line changed
// It runs until FILE exists (--stop FILE) or --seconds pass, then takes a screenshot if asked.
// Usage: node tech.mjs --url URL --stop FILE [--seconds 90] [--screenshot FILE]
import { existsSync } from 'node:fs';
import { openPage } from './chromium.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf('--' + name); return i < 0 ? dflt : args[i + 1]; };
const url = opt('url');
const stop = opt('stop');
const seconds = +opt('seconds', 90);
const screenshot = opt('screenshot');

const { browser, page, lines: console_lines } = await openPage();
try {
  await page.exposeFunction('report', (o) => console.log(JSON.stringify(o)));
  await page.goto(url);
  await page.waitForFunction(() => window.tech && window.tech.connected &&
    document.querySelector('tr[data-channel]'), null, { timeout: 10000 });
  // Every change of what a row shows, reported from a MutationObserver (so stamped when the
  // DOM changed, not when this script looked).
  await page.evaluate(() => {
    const last = new Map();
    let link = '';
    const look = () => {
      const t = Date.now();
      const l = document.getElementById('link').textContent;
      if (l !== link) { link = l; window.report({ link: l, t }); }
      for (const row of document.querySelectorAll('tr[data-channel]')) {
        const key = row.dataset.session + '/' + row.dataset.channel;
        const db = row.querySelector('.db').textContent;
        const [peak, rms] = db.split('/').map((x) => parseFloat(x));
        const cells = [...row.querySelectorAll('td.num')].map((c) => c.textContent);  // srtp, multicast, webrtc, hls/s, relay
        const o = { row: key, t, source: row.querySelector('.source').textContent,
          audience: cells.slice(0, 3).map(Number), relay_generation: Number(cells[4]),
          alarms: [...row.querySelectorAll('.alarms .alarm')].map((a) => a.textContent).join(','),
          peak: Number.isFinite(peak) ? peak : null, rms: Number.isFinite(rms) ? rms : null };
        const db1 = (v) => (v === null ? 'x' : Math.round(v));
        const sig = [o.source, o.alarms, db1(o.peak), db1(o.rms), o.audience.join(','), o.relay_generation].join('|');
        if (last.get(key) !== sig) { last.set(key, sig); window.report(o); }
      }
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    look();
  });
  console.log(JSON.stringify({ ready: true, t: Date.now() }));
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline && !(stop && existsSync(stop))) await new Promise((r) => setTimeout(r, 50));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  const t = await page.evaluate(() => ({ ...window.tech }));
  console.log(JSON.stringify({ done: true, events: t.events, reconnects: t.reconnects, error: t.error }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e), console: console_lines.slice(-10) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
