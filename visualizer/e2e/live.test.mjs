// The "ao vivo" mode in a real browser: a real `casulo daemon --ui` (on a
// state dir of its own, busybox made from the host's), a real container
// started through the daemon's Docker API that keeps doing things, and
// Debian's chromium following it at `?ao-vivo=NAME`. Run by `cargo xtask
// test` (CASULO_BIN: the engine; CASULO_UI_DIR: the built visualizer).
// Needs root, as every container does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { chromium } from 'playwright-core';

const CASULO = process.env.CASULO_BIN;
const UI_DIR = process.env.CASULO_UI_DIR;
const SHOTS = process.env.CASULO_SCREENSHOTS ?? 'target/visualizer-tests/screenshots';
const CHROMIUM = process.env.CASULO_CHROMIUM ?? '/usr/bin/chromium';

let dir, root, socket, daemon, base, browser, page;
let daemonLog = '';
const pageErrors = [];

const casulo = (...args) => execFileSync(CASULO, ['--root', root, ...args], { encoding: 'utf8' });

/** One request on the daemon's unix socket (docker's API): the parsed JSON answer. */
function api(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const req = request({
      socketPath: socket, method, path,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        if (res.statusCode >= 400) reject(new Error(`${method} ${path} → ${res.statusCode}: ${text}`));
        else resolve(text ? JSON.parse(text) : null);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

before(async () => {
  assert.ok(CASULO, 'CASULO_BIN não definido (rode por `cargo xtask test`)');
  assert.ok(UI_DIR, 'CASULO_UI_DIR não definido (rode por `cargo xtask test`)');
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'casulo-ao-vivo-'));
  root = join(dir, 'estado');
  socket = join(dir, 'casulo.sock');
  casulo('image', 'bootstrap');
  daemon = spawn(CASULO, ['--root', root, 'daemon', '--socket', socket,
    '--ui', '127.0.0.1:0', '--ui-dir', UI_DIR], { stdio: ['ignore', 'ignore', 'pipe'] });
  // The daemon prints the URL it got (port 0: any free one).
  base = await new Promise((resolve, reject) => {
    daemon.stderr.setEncoding('utf8');
    daemon.stderr.on('data', (t) => {
      daemonLog += t;
      const m = daemonLog.match(/visualizador ao vivo em (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) resolve(m[1]);
    });
    daemon.on('exit', (code) => reject(new Error(`o daemon saiu (${code}):\n${daemonLog}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--no-proxy-server'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  await browser?.close();
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.on('exit', r));
  }
  if (root && existsSync(root)) {
    try { casulo('rm', '-f', 'ao-vivo'); } catch { /* already gone */ }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], 'a página teve erros de JavaScript');
});

/** "Eventos: 1.234 (#0 a #1233)" → 1234 */
async function shownEvents() {
  const text = await page.textContent('#total-eventos');
  return Number(text.replace(/^Eventos:\s*/, '').split(' ')[0].replace(/\./g, ''));
}

test('ao vivo: os eventos chegam enquanto o contêiner roda, a linha do tempo segue o mais novo, "terminou" no fim', async () => {
  // A container that lives a few seconds (its cgroup is sampled meanwhile),
  // created and started through the daemon's Docker API, as `docker run -d` does.
  const made = await api('POST', '/v1.43/containers/create?name=ao-vivo', {
    Image: 'busybox',
    Cmd: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do touch /tmp/$i; sleep 0.5; done'],
  });
  await page.goto(`${base}?ao-vivo=ao-vivo`);
  await api('POST', `/v1.43/containers/${made.Id}/start`);

  await page.waitForSelector('#selo-vivo');
  await page.waitForSelector('#total-eventos');
  assert.equal((await page.textContent('#selo-vivo')).trim(), 'AO VIVO');
  const first = await shownEvents();
  // More events while it still runs: the page grows without a reload.
  await page.waitForFunction((n) => {
    const t = document.querySelector('#total-eventos')?.textContent ?? '';
    const shown = Number(t.replace(/^Eventos:\s*/, '').split(' ')[0].replace(/\./g, ''));
    return shown > n && document.querySelector('#selo-vivo')?.textContent.trim() === 'AO VIVO';
  }, first, { timeout: 30000 });
  // Following: the player is at the newest event. (The trace's panel and
  // the player are two components: a look between their two renders may
  // see one a fold ahead, so the check waits for a moment they agree.)
  const shown = await (await page.waitForFunction(() => {
    const t = document.querySelector('#total-eventos')?.textContent ?? '';
    const n = Number(t.replace(/^Eventos:\s*/, '').split(' ')[0].replace(/\./g, ''));
    const pos = document.querySelector('#posicao')?.textContent;
    return pos === `evento ${n - 1} de ${n - 1}` ? n : 0;
  }, null, { timeout: 30000 })).jsonValue();
  assert.ok(shown > first, `${shown} > ${first}`);
  await page.screenshot({ path: join(SHOTS, 'ao-vivo-rodando.png'), fullPage: true });

  // "pausar": the position stays put while events keep arriving.
  await page.click('#seguir');
  // (Once drawn: the render after the click shows every update before it.)
  await page.waitForSelector('#seguir[aria-pressed="false"]');
  const held = await page.textContent('#posicao');
  await page.waitForFunction((n) => {
    const t = document.querySelector('#total-eventos')?.textContent ?? '';
    return Number(t.replace(/^Eventos:\s*/, '').split(' ')[0].replace(/\./g, '')) > n;
  }, shown, { timeout: 30000 });
  // The same event, while the last one ("de M") moved on.
  const now = await page.textContent('#posicao');
  assert.equal(now.split(' de ')[0], held.split(' de ')[0], `${now} × ${held}`);
  // "seguir" again: to the newest.
  await page.click('#seguir');
  await page.waitForSelector('#seguir[aria-pressed="true"]');

  // The end: "terminou", with every line of the trace file and the exit code.
  await page.waitForFunction(() => document.querySelector('#selo-vivo')?.textContent.includes('terminou'),
    null, { timeout: 60000 });
  assert.equal((await page.textContent('#selo-vivo')).trim(), 'terminou (código 0)');
  const traces = await api('GET', '/casulo/traces');
  const mine = traces.find((t) => t.container === 'ao-vivo');
  assert.ok(mine, JSON.stringify(traces));
  assert.equal(mine.running, false);
  const lines = readFileSync(mine.path, 'utf8').trim().split('\n');
  const total = lines.length - 1;
  assert.equal(await shownEvents(), total);
  // Every kind known (the daemon.request that opens it included): none skipped.
  assert.equal(await page.$('section.info .aviso'), null);
  const last = JSON.parse(lines[lines.length - 1]);
  assert.match(await page.textContent('#posicao'), new RegExp(`evento ${last.seq} de ${last.seq}\\b`));
  // The trace is complete: the container's cleanup (its cgroup removed) came before "fim".
  assert.ok(lines.some((l) => l.includes('"cgroup.delete"')), 'sem cgroup.delete no trace');
  await page.screenshot({ path: join(SHOTS, 'ao-vivo-terminou.png'), fullPage: true });
  // Who asked, in the trace: the request that created it, by seq.
  const request = JSON.parse(lines.find((l) => l.includes('"daemon.request"')));
  await page.evaluate((seq) => { location.hash = `#evento=${seq}`; }, request.seq);
  await page.waitForFunction(() => document.querySelector('main.paineis')?.textContent
    .includes('Pedido à API do daemon'), null, { timeout: 10000 });
  assert.match(await page.textContent('main.paineis'), /daemon atendeu POST \/v1\.43\/containers\/create/);
});

test('ao vivo: a lista da máquina (/casulo/traces) mostra o trace, e nada da API do Docker nesta porta', async () => {
  await page.goto(base);
  await page.waitForSelector('ul.traces li');
  assert.match(await page.textContent('ul.traces'), /ao-vivo/);
  const docker = await page.evaluate(async (u) => (await fetch(`${u}v1.43/containers/json`)).status, base);
  assert.equal(docker, 404);
  const unknown = await page.evaluate(async (u) => {
    const r = await fetch(`${u}casulo/traces/nao-existe`);
    return [r.status, (await r.json()).message];
  }, base);
  assert.equal(unknown[0], 404);
  assert.match(unknown[1], /não há trace de "nao-existe"/);
  // Live of what does not exist: said, never a page that waits forever.
  await page.goto(`${base}?ao-vivo=nao-existe`);
  await page.waitForSelector('#erro');
  assert.match(await page.textContent('#erro'), /não tem trace com esse nome ou id/);
});
