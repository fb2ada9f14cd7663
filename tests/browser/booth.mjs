// Drives Debian's chromium (headless, playwright-core) through the interpreter's console
// (/booth) of a running tilmashd, with a fake microphone playing a WAV file in a loop, and
// prints what the page knows as JSON lines stamped with the page's wall clock (epoch ms):
//   {"ready":true,"t":...,"console":"c-1"}       connected: the console joined
//   {"t":...,"state":"connected","console":"c-1","mic":"MIC_LIVE","hearing":"floor","engaged":"",
//    "handover":"...","hz":440,"db":-23,"messages":2,"last":"chair → booth:ru: ...","reconnects":0}
//                                               something it shows changed (levels to 2 dB)
//   {"did":"mic","t":...}                       a command was carried out (its click's time)
//   {"onsets":{"voice":[...],"ret":[...]}}      onset times (epoch ms) of the voice and the return feed
// Commands are JSON lines appended to --cmd FILE: {"do":"mic"}, {"do":"cough","held":true},
// {"do":"handover"}, {"do":"decline"}, {"do":"input","input":{"floor":true}}, {"do":"output","slot":"OUTPUT_B"},
// {"do":"send","kind":"TEXT","to":"chair","text":"..."}, {"do":"key","key":"m"} (a key press),
// {"do":"screenshot","file":"..."}, {"do":"onsets"}.
// It runs until FILE exists (--stop FILE) or --seconds pass, then takes a screenshot if asked.
// Usage: node booth.mjs --url URL --wav FILE --cmd FILE --stop FILE [--seconds 120] [--screenshot FILE]
//        [--insecure] (a daemon's self-signed certificate is accepted)
import { existsSync, readFileSync } from 'node:fs';
import { openPage } from './chromium.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf('--' + name); return i < 0 ? dflt : args[i + 1]; };
const url = opt('url');
const stop = opt('stop');
const cmdFile = opt('cmd');
const seconds = +opt('seconds', 120);
const screenshot = opt('screenshot');

const { browser, page, lines: console_lines } = await openPage([
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--use-file-for-fake-audio-capture=' + opt('wav'),
  ...(args.includes('--insecure') ? ['--ignore-certificate-errors'] : [])]);
const print = (o) => console.log(JSON.stringify(o));
try {
  await page.goto(url);
  await page.waitForFunction(() => window.tilmashBooth && window.tilmashBooth.state === 'connected' &&
    window.tilmashBooth.console, null, { timeout: 20000 });
  print({ ready: true, t: Date.now(), console: await page.evaluate(() => window.tilmashBooth.consoleId) });
  let done = 0, last = '';
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline && !(stop && existsSync(stop))) {
    const s = await page.evaluate(() => {
      const B = window.tilmashBooth;
      const st = B.boothState || {};
      const m = B.messages[B.messages.length - 1];
      return { t: Date.now(), state: B.state, console: B.consoleId, mic: B.console ? B.console.mic : '',
        hearing: B.console ? B.console.effectiveInput : '', engaged: B.engagedBy || '',
        handover: document.getElementById('handover-state').textContent, hz: Math.round(B.returnHz()),
        db: Math.round(B.returnDb() / 2) * 2, mic_db: Math.round(B.micDb() / 6) * 6, messages: B.messages.length,
        last: m ? `${m.from} → ${m.to}: ${m.text || m.kind}` : '', reconnects: B.reconnects, on_air: !!st.onAir, call: B.lastCall || null,
        error: B.error };
    });
    const sig = JSON.stringify({ ...s, t: 0 });
    if (sig !== last) { last = sig; print(s); }
    if (cmdFile && existsSync(cmdFile)) {
      const cmds = readFileSync(cmdFile, 'utf8').split('\n').filter(Boolean);
      for (; done < cmds.length; done++) {
        const c = JSON.parse(cmds[done]);
        const t = Date.now();
        if (c.do === 'screenshot') await page.screenshot({ path: c.file, fullPage: true });
        else if (c.do === 'onsets') print({ onsets: await page.evaluate(() => window.tilmashBooth.onsets) });
        else if (c.do === 'key') await page.keyboard.press(c.key);
        else if (c.do === 'mic') await page.click('#mic');
        else await page.evaluate((c) => {
          const p = window.tilmashBooth.press;
          if (c.do === 'cough') p.cough(c.held);
          else if (c.do === 'handover') p.handover();
          else if (c.do === 'decline') p.decline();
          else if (c.do === 'input') p.input(c.input);
          else if (c.do === 'output') p.output(c.slot);
          else if (c.do === 'send') p.send(c.kind, c.to, c.text);
          else if (c.do === 'drop') window.tilmashBooth.drop();
        }, c);
        print({ did: c.do, t });
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  print({ done: true, error: await page.evaluate(() => window.tilmashBooth.error) });
} catch (e) {
  print({ error: String(e), console: console_lines.slice(-10),
    page: await page.evaluate(() => window.tilmashBooth && { ...window.tilmashBooth }).catch(() => null) });
  process.exitCode = 1;
} finally {
  await page.close({ runBeforeUnload: true }).catch(() => {});  // the page leaves as a closed tab does
  await new Promise((r) => setTimeout(r, 200));
  await browser.close();
}
