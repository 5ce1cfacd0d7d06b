// Budgets of the visualizer, measured in Debian's headless chromium (run by
// `cargo xtask bench`): opening big traces and scrubbing across them.
// Prints one JSON line with the figures on stdout: one object per trace
// (`CASULO_BENCH_TRACES`, `name:rounds,…`).

import { chromium } from 'playwright-core';

const URL_BASE = process.env.CASULO_VIS_URL;
const TRACES = (process.env.CASULO_BENCH_TRACES ?? 'grande.trace.jsonl:3')
  .split(',').map((t) => { const [name, rounds] = t.split(':'); return { name, rounds: Number(rounds ?? 3) }; });

const browser = await chromium.launch({
  executablePath: process.env.CASULO_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--no-proxy-server'],
});
const errors = [];
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round1 = (x) => Math.round(x * 10) / 10;

async function measure(name, rounds) {
  // A fresh tab per trace: its memory is this trace's.
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
  const opens = [];
  for (let i = 0; i < rounds; i++) {
    await page.goto('about:blank');
    // Not waiting for the page's `load`: the selectors below say when it is drawn.
    await page.goto(`${URL_BASE}?trace=traces/${name}`, { waitUntil: 'commit', timeout: 120000 });
    await page.waitForSelector('#total-eventos', { timeout: 120000 });
    await page.waitForSelector('html[data-desenhado-ms]');
    // Time since the navigation started: page load, wasm start, download,
    // the lines counted and the first slice read and folded, first drawing
    // (noted by the app itself); then the rest read in slices.
    const total = Number(await page.getAttribute('html', 'data-desenhado-ms'));
    await page.waitForSelector('html[data-carregado-ms]', { timeout: 300000 });
    const full = Number(await page.getAttribute('html', 'data-carregado-ms'));
    const parse = Number(await page.getAttribute('.info', 'data-abrir-ms'));
    // The app's own marks (`casulo:*`, ms since navigation) and the two
    // downloads: where the time went.
    const timeline = await page.evaluate((n) => {
      const marks = Object.fromEntries(performance.getEntriesByType('mark')
        .filter((m) => m.name.startsWith('casulo:')).map((m) => [m.name.slice(7), m.startTime]));
      const res = (end) => performance.getEntriesByType('resource').find((e) => e.name.endsWith(end));
      const trace = res(n);
      const wasm = res('.wasm');
      return { ...marks, wasm_baixado: wasm?.responseEnd, trace_pedido: trace?.startTime, trace_baixado: trace?.responseEnd };
    }, name);
    for (const k of Object.keys(timeline)) timeline[k] = timeline[k] == null ? null : round1(timeline[k]);
    opens.push({ total_ms: total, full_ms: full, read_and_fold_ms: parse, timeline });
  }

  // Scrub: one new position per animation frame, across the whole trace,
  // like a mouse dragging the scrubber from end to end; and each move's
  // own cost (the input handled, the page redrawn and laid out).
  const scrub = await page.evaluate(async () => {
    const el = document.querySelector('#linha-do-tempo');
    const max = Number(el.max);
    const frames = 240;
    const frame = () => new Promise((ok) => requestAnimationFrame(ok));
    const settle = () => new Promise((ok) => setTimeout(ok, 0));
    const move = (i) => {
      el.value = String(Math.round((i / frames) * max * 0.999 + (i % 2) * 7));
      el.dispatchEvent(new Event('input', { bubbles: true }));
    };
    await frame();
    const t0 = performance.now();
    let longest = 0;
    let last = t0;
    for (let i = 1; i <= frames; i++) {
      move(i);
      await frame();
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }
    const seconds = (performance.now() - t0) / 1000;
    const costs = [];
    for (let i = frames; i >= 1; i--) {
      await frame();
      const s = performance.now();
      move(i);
      await settle();
      void document.body.getBoundingClientRect().height; // layout
      costs.push(performance.now() - s);
    }
    costs.sort((a, b) => a - b);
    return {
      frames, seconds, fps: frames / seconds, longest_frame_ms: longest, max,
      seek_median_ms: costs[Math.floor(costs.length / 2)],
      seek_p95_ms: costs[Math.floor(costs.length * 0.95)],
    };
  });
  const position = await page.textContent('#posicao');

  // Memory of the tab with the trace open: the JS heap (CDP) and the
  // wasm's linear memory (where the events and the replay live).
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const metric = (n) => metrics.find((m) => m.name === n)?.value ?? null;
  const wasmBytes = await page.evaluate(() => window.__casuloWasm?.memory?.buffer?.byteLength ?? null);
  await page.close();

  return {
    trace: name,
    events: scrub.max,
    open_total_ms: median(opens.map((o) => o.total_ms)),
    open_full_ms: median(opens.map((o) => o.full_ms)),
    open_read_and_fold_ms: median(opens.map((o) => o.read_and_fold_ms)),
    opens,
    scrub_fps: scrub.fps,
    scrub_frames: scrub.frames,
    scrub_longest_frame_ms: scrub.longest_frame_ms,
    seek_median_ms: round1(scrub.seek_median_ms),
    seek_p95_ms: round1(scrub.seek_p95_ms),
    final_position: position,
    js_heap_used_bytes: metric('JSHeapUsedSize'),
    js_heap_total_bytes: metric('JSHeapTotalSize'),
    wasm_memory_bytes: wasmBytes,
  };
}

const results = {};
for (const { name, rounds } of TRACES) results[name] = await measure(name, rounds);
await browser.close();
console.log(JSON.stringify({ traces: results, page_errors: errors }));
