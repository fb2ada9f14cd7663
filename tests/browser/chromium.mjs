// Debian's chromium, headless, as the browser scripts drive it: audio plays without a gesture,
// and WebRTC offers real host candidates (no mDNS names) so the daemon's ICE can reach them.
// Returns the browser and a page whose console lines are collected in `lines`; `extraArgs` go to
// chromium as they are (a fake microphone for the booth page).
import { chromium } from 'playwright-core';

export async function openPage(extraArgs = []) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--autoplay-policy=no-user-gesture-required', '--disable-features=WebRtcHideLocalIpsWithMdns',
           '--no-sandbox', ...extraArgs] });
  const page = await browser.newPage();
  const lines = [];
  page.on('console', (m) => lines.push(m.text()));
  return { browser, page, lines };
}
