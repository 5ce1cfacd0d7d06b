// Budgets of the visualizer, measured in Debian's headless chromium (run by
// `cargo xtask bench`): opening a big trace and scrubbing across it.
// Prints one JSON line with the figures on stdout.

import { chromium } from 'playwright-core';

const URL_BASE = process.env.CASULO_VIS_URL;
const NAME = process.env.CASULO_BENCH_TRACE ?? 'grande.trace.jsonl';
const ROUNDS = Number(process.env.CASULO_BENCH_ROUNDS ?? 3);

const browser = await chromium.launch({
  executablePath: process.env.CASULO_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--no-proxy-server'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));

const opens = [];
for (let i = 0; i < ROUNDS; i++) {
  await page.goto('about:blank');
  await page.goto(`${URL_BASE}?trace=traces/${NAME}`);
  await page.waitForSelector('#total-eventos', { timeout: 60000 });
  await page.waitForSelector('html[data-desenhado-ms]');
  // Time since the navigation started: page load, wasm start, download,
  // read and fold, first drawing (noted by the app itself).
  const total = Number(await page.getAttribute('html', 'data-desenhado-ms'));
  const parse = Number(await page.getAttribute('.info', 'data-abrir-ms'));
  const download = await page.evaluate((n) => {
    const r = performance.getEntriesByType('resource').find((e) => e.name.endsWith(n));
    return r ? r.responseEnd - r.startTime : null;
  }, NAME);
  opens.push({ total_ms: total, read_and_fold_ms: parse, download_ms: download });
}

// Scrub: one new position per animation frame, across the whole trace,
// like a mouse dragging the scrubber from end to end.
const scrub = await page.evaluate(async () => {
  const el = document.querySelector('#linha-do-tempo');
  const max = Number(el.max);
  const frames = 240;
  const frame = () => new Promise((ok) => requestAnimationFrame(ok));
  await frame();
  const t0 = performance.now();
  let longest = 0;
  let last = t0;
  for (let i = 1; i <= frames; i++) {
    el.value = String(Math.round((i / frames) * max * 0.999 + (i % 2) * 7));
    el.dispatchEvent(new Event('input', { bubbles: true }));
    await frame();
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { frames, seconds, fps: frames / seconds, longest_frame_ms: longest, max };
});
const position = await page.textContent('#posicao');
await browser.close();

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({
  trace: NAME,
  events: scrub.max,
  open_total_ms: median(opens.map((o) => o.total_ms)),
  open_read_and_fold_ms: median(opens.map((o) => o.read_and_fold_ms)),
  opens,
  scrub_fps: scrub.fps,
  scrub_frames: scrub.frames,
  scrub_longest_frame_ms: scrub.longest_frame_ms,
  final_position: position,
  page_errors: errors,
}));
