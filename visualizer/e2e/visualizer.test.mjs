// Browser tests of the visualizer: Debian's chromium (headless), driven by
// playwright-core. Run by `cargo xtask test`, which builds the app, serves it
// with the traces in CASULO_TRACES_DIR on CASULO_VIS_URL, and keeps the
// screenshots (CASULO_SCREENSHOTS) as artifacts.
//
// The traces are real recordings (engine/trace/tests/fixtures) plus the
// trace crate's sample (every kind, with cgroups and an OOM): positions are
// found in the trace text, never hard-coded.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const URL_BASE = process.env.CASULO_VIS_URL ?? 'http://127.0.0.1:8000/';
const TRACES = process.env.CASULO_TRACES_DIR;
const SHOTS = process.env.CASULO_SCREENSHOTS ?? 'target/visualizer-tests/screenshots';
const CHROMIUM = process.env.CASULO_CHROMIUM ?? '/usr/bin/chromium';

let browser;
let page;
const pageErrors = [];

before(async () => {
  assert.ok(TRACES, 'CASULO_TRACES_DIR não definido (rode por `cargo xtask test`)');
  mkdirSync(SHOTS, { recursive: true });
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
  assert.deepEqual(pageErrors, [], 'a página teve erros de JavaScript');
});

/** Events of a trace file (line 1 is the header). */
function events(name) {
  return readFileSync(join(TRACES, name), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
}

/** The `seq` of the last event: the "M" of "evento N de M" (every number
 * the visualizer shows is a `seq`, like `casulo trace show`). */
const lastSeq = (ev) => ev[ev.length - 1].seq;

/** The URL's hash becomes `expected` (the app writes it once the position stays still a moment). */
async function hashIs(expected) {
  await page.waitForFunction((h) => location.hash === h, expected, { timeout: 5000 }).catch(() => {});
  assert.equal(new URL(page.url()).hash, expected);
}

/** Opens a served trace in a fresh page, at `#evento=seq` when given. */
async function open(name, seq) {
  const hash = seq === undefined ? '' : `#evento=${seq}`;
  await page.goto('about:blank');
  await page.goto(`${URL_BASE}?trace=traces/${name}${hash}`);
  await page.waitForSelector('#total-eventos');
  assert.equal(await page.textContent('#nome-trace'), `traces/${name}`);
}

async function shot(name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Moves the scrubber like a mouse drag does (an `input` event). */
async function scrub(pos) {
  await page.$eval('#linha-do-tempo', (el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, pos);
}

const position = () => page.textContent('#posicao');

test('namespaces: depois do namespace.create de pid, o init é o PID 1 lá dentro', async () => {
  const ev = events('run-echo.trace.jsonl');
  const clone = ev.find((e) => e.kind === 'process.clone');
  const pidNs = ev.find((e) => e.kind === 'namespace.create' && e.ns === 'pid');

  // Before the clone: no container yet.
  await open('run-echo.trace.jsonl', clone.seq - 1);
  assert.match(await page.textContent('#svg-ns'), /Ainda não há contêiner/);

  await open('run-echo.trace.jsonl', pidNs.seq);
  assert.equal(await position(), `evento ${pidNs.seq} de ${lastSeq(ev)}`);
  const ns = await page.textContent('#svg-ns');
  assert.match(ns, /PID 1 dentro do contêiner/);
  assert.match(ns, new RegExp(`PID ${clone.child_pid} no host`));
  assert.match(ns, new RegExp(`pid \\[${pidNs.inode}\\]`));
  assert.match(ns, new RegExp(`casulo.*PID ${clone.pid} no host`));
  // Only the pid box so far; the mnt namespace comes with the next event.
  assert.doesNotMatch(ns, /mnt \[/);
  // The title comes with catalogo.json, fetched when the first event shows.
  await page.waitForFunction(() => /Novo namespace/.test(document.querySelector('#detalhe')?.textContent));
  assert.match(await page.textContent('#detalhe .explicacao'), /namespace/);
  await shot('01-namespace-pid');
});

test('um link #evento=N na mesma página leva àquele momento', async () => {
  await open('run-echo.trace.jsonl', 0);
  await page.evaluate(() => { location.hash = '#evento=9'; });
  await page.waitForFunction(() => document.querySelector('#posicao').textContent.startsWith('evento 9 '));
  assert.match(await page.textContent('#detalhe'), /Montagem overlay|overlay/);
});

test('teclado: → e ← andam um evento e a URL guarda a posição', async () => {
  const ev = events('run-echo.trace.jsonl');
  await open('run-echo.trace.jsonl', 2);
  await page.focus('body');
  await page.keyboard.press('ArrowRight');
  assert.equal(await position(), `evento 3 de ${lastSeq(ev)}`);
  await hashIs('#evento=3');
  assert.match(await page.textContent('#svg-ns'), /mnt \[\d+\]/);
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await position(), `evento 1 de ${lastSeq(ev)}`);
  await hashIs('#evento=1');
  await page.keyboard.press('End');
  assert.equal(await position(), `evento ${lastSeq(ev)} de ${lastSeq(ev)}`);
  await page.keyboard.press('Home');
  assert.match(await position(), /antes do primeiro evento/);
});

test('linha do tempo: arrastar até o pivot_root e até o fim', async () => {
  const ev = events('run-echo.trace.jsonl');
  const overlay = ev.find((e) => e.kind === 'mount.overlay');
  const pivot = ev.find((e) => e.kind === 'mount.pivot_root');
  const unpack = ev.find((e) => e.kind === 'layer.unpack');
  await open('run-echo.trace.jsonl');

  await scrub(overlay.seq); // just before the overlay mount
  assert.ok(await page.isVisible('#fs-vazio'));
  await scrub(overlay.seq + 1);
  const fs = await page.textContent('#svg-fs');
  assert.match(fs, /merged: a visão unificada/);
  assert.match(fs, new RegExp(`camada 1 · ${unpack.diff_id.slice(7, 19)}`));
  assert.match(fs, /upperdir: leitura e escrita/);

  await scrub(pivot.seq + 1);
  assert.match(await page.textContent('#svg-fs'), /merged = \/ do contêiner \(depois do pivot_root\)/);
  assert.match(await page.textContent('#svg-fs'), /\/proc · proc/);
  await hashIs(`#evento=${pivot.seq}`);
  await shot('02-pivot-root');

  await scrub(ev.length);
  assert.match(await page.textContent('#svg-ns'), /terminou com código 0/);
  assert.match(await page.textContent('#hostname'), /casulo-lab/);
  assert.match(await page.textContent('#detalhe'), /wait4\(/);
  assert.match(await page.textContent('#resultado'), /^ok$/);
});

test('reproduzir e pausar', async () => {
  await open('run-exit-3.trace.jsonl', 0);
  await page.selectOption('#velocidade', '30');
  await page.click('#tocar');
  await page.waitForFunction(() => /evento ([5-9]|\d\d)/.test(document.querySelector('#posicao').textContent));
  await page.click('#tocar');
  const paused = await position();
  await page.waitForTimeout(200);
  assert.equal(await position(), paused);
});

test('eventos: a operação que falhou aparece com o errno em vermelho', async () => {
  const ev = events('sample.trace.jsonl');
  const failed = ev.find((e) => e.outcome !== 'ok');
  await open('sample.trace.jsonl', failed.seq);
  const res = await page.textContent('#resultado');
  assert.match(res, new RegExp(`ERRO ${failed.outcome.error.name} \\(${failed.outcome.error.errno}\\)`));
  const color = await page.$eval('#resultado .errno', (el) => getComputedStyle(el).color);
  assert.equal(color, 'rgb(176, 0, 32)');
  assert.match(await page.textContent('#detalhe'), /não conseguiu/);
  await shot('03-erro-erofs');
});

test('volumes: o painel de arquivos lista o volume criado, ao lado do overlay', async () => {
  const ev = events('sample.trace.jsonl');
  const vol = ev.find((e) => e.kind === 'volume.create');
  await open('sample.trace.jsonl', vol.seq - 1);
  assert.equal(await page.isVisible('#fs-volumes'), false);
  await page.keyboard.press('ArrowRight');
  assert.match(await page.textContent('#fs-volumes'), new RegExp(`${vol.name} em ${vol.target}`));
});

test('arquivos: o commit mostra a camada nova e a imagem', async () => {
  const ev = events('sample.trace.jsonl');
  const c = ev.find((e) => e.kind === 'image.commit');
  await open('sample.trace.jsonl', c.seq - 1);
  assert.equal(await page.isVisible('#fs-commit'), false);
  await page.keyboard.press('ArrowRight');
  const text = await page.textContent('#fs-commit');
  assert.match(text, new RegExp(`camada ${c.diff_id.slice(7, 19)}`));
  assert.match(text, new RegExp(`${c.whiteouts} whiteouts.*imagem ${c.tag}`));
});

test('camadas: o whiteout aparece na camada que apagou o arquivo', async () => {
  const ev = events('sample.trace.jsonl');
  const wh = ev.find((e) => e.kind === 'layer.whiteout');
  await open('sample.trace.jsonl', wh.seq - 1);
  assert.doesNotMatch(await page.textContent('#svg-fs'), /✕/);
  await page.keyboard.press('ArrowRight');
  const fs = await page.textContent('#svg-fs');
  assert.match(fs, new RegExp(`camada \\d · ${wh.diff_id.slice(7, 19)}.*✕ ${wh.path}`));
});

test('cgroups: limite, amostra de uso e o OOM marcado', async () => {
  const ev = events('sample.trace.jsonl');
  const create = ev.find((e) => e.kind === 'cgroup.create');
  const oom = ev.find((e) => e.kind === 'cgroup.oom');
  await open('sample.trace.jsonl', create.seq - 1);
  assert.ok(await page.isVisible('#cg-vazio'));
  await open('sample.trace.jsonl', oom.seq);
  const cg = await page.textContent('.cgroups');
  assert.match(cg, /memory\.limit_in_bytes = 67108864 \(64 MiB\)/);
  assert.match(await page.textContent('#uso-atual'), /memória: 60 MiB de 64 MiB/);
  assert.match(await page.textContent('#oom'), /OOM/);
  assert.equal(await page.locator('#grafico-memoria .marca-oom').count(), 1);
  assert.equal(await page.locator('#grafico-pids .ponto-pids').count(), 1);
  await shot('04-cgroups-oom');
});

test('cgroups: pause congela o cgroup do freezer e unpause o descongela', async () => {
  const ev = events('sample.trace.jsonl');
  const [freeze, thaw] = ev.filter((e) => e.kind === 'cgroup.freeze');
  assert.equal(freeze.frozen, true);
  await open('sample.trace.jsonl', freeze.seq);
  assert.match(await page.textContent('#congelado'), /congelado/);
  assert.match(await page.textContent('.cgroup.congelado'), /freezer/);
  await shot('04-cgroups-congelado');
  await open('sample.trace.jsonl', thaw.seq);
  assert.equal(await page.locator('#congelado').count(), 0);
});

test('cgroups de uma execução real: limite de 32 MiB, amostras subindo e o OOM', async () => {
  const ev = events('run-oom.trace.jsonl');
  const limit = ev.find((e) => e.kind === 'cgroup.limit');
  const oom = ev.find((e) => e.kind === 'cgroup.oom');
  const memDir = limit.file.slice(0, limit.file.lastIndexOf('/'));
  const del = ev.find((e) => e.kind === 'cgroup.delete' && e.path === memDir);
  const tail = memDir.split('/').slice(-3).join('/');
  const memGroup = () => page.locator('.arvore-cgroups li.cgroup', { hasText: tail.slice(0, 20) }).filter({ hasText: 'memory' });

  // Just before the limit: the memory group exists, without a limit.
  await open('run-oom.trace.jsonl', limit.seq - 1);
  assert.equal(await memGroup().count(), 1);
  assert.equal(await memGroup().locator('.limites').count(), 0);
  // After the cgroup.limit: 32 MiB, in bytes and in MiB.
  await page.keyboard.press('ArrowRight');
  assert.match(await memGroup().locator('.limites').textContent(), /memory\.limit_in_bytes = 33554432 \(32 MiB\)/);
  assert.match(await page.textContent('.cgroups'), /Sem amostras de uso ainda/);

  // Just before the OOM: the chart has the samples, the dashed limit at
  // 32 MiB, no OOM mark yet.
  const samplesBefore = ev.filter((e) => e.kind === 'cgroup.sample' && e.seq < oom.seq);
  await open('run-oom.trace.jsonl', oom.seq - 1);
  assert.match(await page.textContent('#grafico-memoria'), /limite 32 MiB/);
  assert.equal(await page.locator('#grafico-memoria .ponto').count(), samplesBefore.length);
  assert.equal(await page.locator('#grafico-memoria .marca-oom').count(), 0);
  assert.equal(await page.locator('#oom').count(), 0);
  assert.match(await page.textContent('#uso-atual'), /memória: .* de 32 MiB/);
  // The line climbs: its highest point (smallest y) is in the last third.
  const ys = await page.$$eval('#grafico-memoria .ponto', (cs) => cs.map((c) => parseFloat(c.getAttribute('cy'))));
  const third = Math.floor(ys.length / 3);
  assert.ok(Math.min(...ys.slice(-third)) < Math.min(...ys.slice(0, third)), ys.join(' '));

  // At the cgroup.oom: marked in the tree and on the chart.
  await page.keyboard.press('ArrowRight');
  assert.equal(await position(), `evento ${oom.seq} de ${lastSeq(ev)}`);
  assert.match(await memGroup().locator('.oom').textContent(), /OOM: o kernel matou 1 processo\(s\) por falta de memória/);
  assert.equal(await page.locator('#grafico-memoria .marca-oom').count(), 1);
  await shot('08-cgroups-oom-real');

  // After its cgroup.delete: struck out, the OOM still on record.
  await open('run-oom.trace.jsonl', del.seq - 1);
  assert.equal(await memGroup().locator('text=(removido)').count(), 0);
  await page.keyboard.press('ArrowRight');
  assert.ok(await memGroup().evaluate((li) => li.classList.contains('removido')));
  assert.match(await memGroup().textContent(), /\(removido\)/);
  assert.equal(await page.locator('#grafico-memoria .marca-oom').count(), 1);
  await page.keyboard.press('End');
  assert.match(await page.textContent('#svg-ns'), /morto por SIGKILL/);
});

test('arquivo ruim: erro em português com a linha, e a página continua viva', async () => {
  const good = readFileSync(join(TRACES, 'run-echo.trace.jsonl'), 'utf8').split('\n');
  const bad = [good[0], good[1], '{"seq": 1, "t_us": 5, "kind": "mount.fs", '].join('\n');
  await page.goto(URL_BASE);
  await page.setInputFiles('#arquivo-trace', {
    name: 'quebrado.trace.jsonl', mimeType: 'application/json', buffer: Buffer.from(bad),
  });
  await page.waitForSelector('#erro');
  const msg = await page.textContent('#erro');
  assert.match(msg, /Não consegui abrir «quebrado\.trace\.jsonl»: linha 3: não é JSON válido/);
  await shot('05-arquivo-ruim');

  // Not a trace at all.
  await page.setInputFiles('#arquivo-trace', {
    name: 'foto.trace.jsonl', mimeType: 'text/plain', buffer: Buffer.from('olá\n'),
  });
  await page.waitForFunction(() => /foto/.test(document.querySelector('#erro')?.textContent ?? ''));
  assert.match(await page.textContent('#erro'), /linha 1: cabeçalho ausente ou inválido/);

  // A good file afterwards opens fine.
  await page.setInputFiles('#arquivo-trace', {
    name: 'bom.trace.jsonl', mimeType: 'application/json', buffer: Buffer.from(good.join('\n')),
  });
  await page.waitForSelector('#total-eventos');
  assert.equal(await page.textContent('#nome-trace'), 'bom.trace.jsonl');
  assert.equal(await page.locator('#erro').count(), 0);
});

test('arrastar e soltar um arquivo', async () => {
  const text = readFileSync(join(TRACES, 'run-exit-3.trace.jsonl'), 'utf8');
  await page.goto(URL_BASE);
  const dt = await page.evaluateHandle((t) => {
    const d = new DataTransfer();
    d.items.add(new File([t], 'arrastado.trace.jsonl', { type: 'application/json' }));
    return d;
  }, text);
  await page.dispatchEvent('.carregar', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('.carregar', 'drop', { dataTransfer: dt });
  await page.waitForSelector('#total-eventos');
  assert.equal(await page.textContent('#nome-trace'), 'arrastado.trace.jsonl');
});

test('lista dos traces gravados', async () => {
  await page.goto(URL_BASE);
  await page.getByRole('button', { name: 'run-not-found.trace.jsonl' }).click();
  await page.waitForSelector('#total-eventos');
  assert.equal(await page.textContent('#nome-trace'), 'traces/run-not-found.trace.jsonl');
  assert.match(new URL(page.url()).search, /trace=traces%2Frun-not-found/);
  await page.keyboard.press('End');
  assert.match(await page.textContent('#svg-ns'), /terminou com código 127/);
});

test('comparação de dois traces reais', async () => {
  await page.goto(`${URL_BASE}?trace=traces/run-echo.trace.jsonl&comparar=traces/run-not-found.trace.jsonl`);
  await page.waitForSelector('#resumo-comparacao');
  const summary = await page.textContent('#resumo-comparacao');
  assert.match(summary, /A: traces\/run-echo\.trace\.jsonl \(35 eventos\)/);
  assert.match(summary, /B: traces\/run-not-found\.trace\.jsonl \(34 eventos\)/);
  // Only the echo run unpacked the layer and got to execve.
  const onlyA = await page.locator('tr.so-a').allTextContents();
  assert.ok(onlyA.some((t) => t.includes('process.exec')), onlyA.join('\n'));
  assert.ok(onlyA.some((t) => t.includes('layer.unpack')), onlyA.join('\n'));
  assert.ok(await page.locator('tr.so-b', { hasText: 'layer.reuse' }).count() === 1);
  await shot('06-comparacao');
  await page.click('text=Reprodução');
  await page.waitForSelector('#svg-ns');
});

test('letras grandes para projetar', async () => {
  await open('run-echo.trace.jsonl', 9);
  const before = await page.$eval('.painel h2', (el) => parseFloat(getComputedStyle(el).fontSize));
  await page.getByRole('button', { name: 'Letras grandes' }).click();
  const after = await page.$eval('.painel h2', (el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(after > before * 1.3, `${before} → ${after}`);
  await shot('07-letras-grandes');
  await page.getByRole('button', { name: 'Letras normais' }).click();
});

/** Font size (CSS, in the diagram's units) and height on screen (px) of the
 * first element matching `sel`. */
const textSize = (sel) => page.$eval(sel, (el) => ({
  css: parseFloat(getComputedStyle(el).fontSize),
  screen: el.getBoundingClientRect().height,
}));

/** Texts of `group` (an SVG selector) that stick out of their own box. */
const overflowing = (group) => page.$$eval(group, (gs) => gs.flatMap((g) => {
  const r = g.querySelector('rect').getBBox();
  return [...g.querySelectorAll(':scope > text')].filter((t) => {
    const b = t.getBBox();
    return b.x < r.x || b.x + b.width > r.x + r.width || b.y < r.y || b.y + b.height > r.y + r.height;
  }).map((t) => t.textContent);
}));

test('letras grandes: o texto e as marcas dos diagramas crescem, sem sair das caixas', async () => {
  const ev = events('run-oom.trace.jsonl');
  const oom = ev.find((e) => e.kind === 'cgroup.oom');
  await open('run-oom.trace.jsonl', oom.seq);
  const sel = {
    ns: '#svg-ns .rotulo-ns', pid: '#processo-init .pid-dentro', cmd: '#processo-init .comando',
    fs: '#svg-fs .caminho', limite: '#grafico-memoria .rotulo-limite',
  };
  const measure = async () => {
    const m = {};
    for (const [k, s] of Object.entries(sel)) m[k] = await textSize(s);
    m.oom = await page.$eval('#grafico-memoria .marca-oom', (el) => parseFloat(getComputedStyle(el).strokeWidth));
    m.ponto = await page.$eval('#grafico-memoria .ponto', (el) => el.getBoundingClientRect().width);
    return m;
  };
  const normal = await measure();
  await page.getByRole('button', { name: 'Letras grandes' }).click();
  await page.waitForSelector('.app.grande');
  const large = await measure();
  for (const k of Object.keys(sel)) {
    // In the diagram's units (what the SVG layout makes room for)...
    assert.ok(large[k].css >= normal[k].css * 1.35, `${k}: ${normal[k].css} → ${large[k].css}`);
    // ...and on the screen, at the same window width.
    assert.ok(large[k].screen > normal[k].screen * 1.3, `${k} na tela: ${normal[k].screen} → ${large[k].screen}`);
  }
  assert.ok(large.oom >= normal.oom * 1.35, `marca do OOM: ${normal.oom} → ${large.oom}`);
  assert.ok(large.ponto > normal.ponto * 1.3, `ponto: ${normal.ponto} → ${large.ponto}`);
  // Bigger text still fits: every label inside its box.
  for (const group of ['#svg-ns g.ns', '#processo-init', '#svg-fs g.camada', '#svg-fs g.montagem']) {
    assert.deepEqual(await overflowing(group), [], `${group} em letras grandes`);
  }
  await shot('09-letras-grandes-diagramas');
  await page.getByRole('button', { name: 'Letras normais' }).click();
  await page.waitForSelector('.app:not(.grande)');
  assert.equal((await textSize(sel.ns)).css, normal.ns.css);
  for (const group of ['#svg-ns g.ns', '#processo-init', '#svg-fs g.camada', '#svg-fs g.montagem']) {
    assert.deepEqual(await overflowing(group), [], `${group} em letras normais`);
  }
});

/** Text of the network diagram. */
const rede = () => page.textContent('#svg-rede');

test('rede: a bridge, o cabo veth, o endereço da eth0, a rota e a porta publicada', async () => {
  const name = 'run-network.trace.jsonl';
  const ev = events(name);
  const bridge = ev.find((e) => e.kind === 'net.bridge');
  const veth = ev.find((e) => e.kind === 'net.veth');
  const attach = ev.find((e) => e.kind === 'net.attach' && e.ifname === veth.host_ifname);
  const addr = ev.find((e) => e.kind === 'net.addr' && e.inside && e.ifname === veth.container_ifname);
  const route = ev.find((e) => e.kind === 'net.route' && e.inside);
  const port = ev.find((e) => e.kind === 'net.port');
  const close = ev.find((e) => e.kind === 'net.port_close' && e.host_port === port.host_port);
  // Present only when the host end outlived the netns (see the fixtures' README).
  const del = ev.find((e) => e.kind === 'net.link_delete');
  const ip = addr.address.split('/')[0];

  // Before the bridge: no bridge in the diagram.
  await open(name, bridge.seq - 1);
  assert.equal(await page.locator('#rede-bridge').count(), 0);
  await page.keyboard.press('ArrowRight');
  assert.match(await page.textContent('#rede-bridge'), new RegExp(`${bridge.name} · bridge.*${bridge.address.replace('.', '\\.')}`));

  // Just before net.veth: no cable yet (whatever else is there).
  await open(name, veth.seq - 1);
  assert.equal(await page.locator('#cabo-veth').count(), 0);
  assert.equal(await page.locator('#rede-eth0').count(), 0);
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('#cabo-veth').count(), 1);
  assert.match(await page.textContent('#rede-veth-host'), new RegExp(veth.host_ifname));
  assert.match(await page.textContent('#rede-veth-host'), /ainda solta/);
  assert.match(await page.textContent('#rede-eth0'), new RegExp(`${veth.container_ifname}.*sem endereço ainda`));
  assert.match(await page.getAttribute('#svg-rede', 'aria-label'), new RegExp(`cabo veth de ${veth.host_ifname} \\(host\\) até ${veth.container_ifname}`));

  // Plugged into the bridge.
  await open(name, attach.seq);
  assert.match(await page.textContent('#rede-veth-host'), new RegExp(`plugada em ${attach.bridge}`));
  assert.equal(await page.locator('#plugue-bridge').count(), 1);

  // The address inside the container, then the default route.
  await open(name, addr.seq - 1);
  assert.doesNotMatch(await page.textContent('#rede-eth0'), new RegExp(ip.replaceAll('.', '\\.')));
  await page.keyboard.press('ArrowRight');
  assert.match(await page.textContent('#rede-eth0'), new RegExp(addr.address.replaceAll('.', '\\.')));
  await open(name, route.seq);
  assert.match(await page.textContent('#rede-rota'), new RegExp(`rota padrão: via ${route.gateway.replaceAll('.', '\\.')} pela ${route.ifname}`));

  // The published port: host:port → container-ip:port, with the mechanism.
  await open(name, port.seq - 1);
  assert.equal(await page.locator('#svg-rede g.porta').count(), 0);
  await page.keyboard.press('ArrowRight');
  const p = page.locator('#svg-rede g.porta');
  assert.equal(await p.count(), 1);
  assert.match(await p.textContent(), new RegExp(`${port.host_ip}:${port.host_port}/${port.protocol}`));
  assert.match(await p.textContent(), new RegExp(`→ ${port.container_ip.replaceAll('.', '\\.')}:${port.container_port} · ${port.mechanism}`));
  assert.equal(await p.locator('path[marker-end]').count(), 1);
  assert.equal(await page.locator('#svg-rede g.porta.fechada').count(), 0);

  // Everything at once, just before the port closes (after the exit).
  assert.ok(close, 'net.port_close no trace');
  await open(name, close.seq - 1);
  assert.equal(await page.locator('#cabo-veth').count(), 1);
  assert.equal(await page.locator('.cabo.removido').count(), 0);
  assert.match(await rede(), /lo ▲ ativa/);
  assert.match(await rede(), new RegExp(`${veth.container_ifname} ▲ ativa`));
  // The port still open: solid arrow, no "fechada".
  assert.equal(await page.locator('#svg-rede g.porta.fechada').count(), 0);
  assert.doesNotMatch(await p.textContent(), /fechada/);
  assert.equal(await p.locator('path[marker-end="url(#seta)"]').count(), 1);
  assert.equal(await p.locator('path.seta-porta').evaluate((e) => getComputedStyle(e).strokeDasharray), 'none');
  assert.match(await page.getAttribute('#svg-rede', 'aria-label'), new RegExp(`porta ${port.host_ip.replaceAll('.', '\\.')}:${port.host_port} do host leva a`));
  await shot('10-rede-bridge-veth-porta');

  // net.port_close: the port stays drawn, but closed — in words ("fechada"),
  // a dashed grey arrow with its own arrowhead, not only a colour.
  await page.keyboard.press('ArrowRight');
  const closedPort = page.locator('#svg-rede g.porta.fechada');
  assert.equal(await closedPort.count(), 1);
  assert.match(await closedPort.textContent(), new RegExp(`${port.host_ip}:${port.host_port}/${port.protocol}`));
  assert.match(await closedPort.locator('.rotulo-porta').textContent(), /· fechada$/);
  assert.equal(await closedPort.locator('path[marker-end="url(#seta-fechada)"]').count(), 1);
  assert.notEqual(await closedPort.locator('path.seta-porta').evaluate((e) => getComputedStyle(e).strokeDasharray), 'none');
  assert.match(await closedPort.locator('rect title').textContent(), /fechada/);
  assert.match(await page.getAttribute('#svg-rede', 'aria-label'), new RegExp(`porta ${port.host_ip.replaceAll('.', '\\.')}:${port.host_port} do host fechada, levava a`));
  await shot('10b-rede-porta-fechada');

  // The veth deleted at the end (when the trace has it): the cable shows as removed.
  if (del) {
    await open(name, del.seq);
    assert.equal(await page.locator('.cabo.removido #cabo-veth').count(), 1);
    assert.match(await page.textContent('#rede-veth-host'), /removida/);
  }
  // At the very end the port is still shown closed.
  await page.keyboard.press('End');
  assert.equal(await page.locator('#svg-rede g.porta.fechada').count(), 1);
});

test('rede: network connect põe um segundo cabo (eth1) na lista de cabos, e o disconnect o risca', async () => {
  const name = 'run-connect.trace.jsonl';
  const ev = events(name);
  const veths = ev.filter((e) => e.kind === 'net.veth');
  assert.equal(veths.length, 2);
  const eth1 = veths[1];
  const addr = ev.find((e) => e.kind === 'net.addr' && e.inside && e.ifname === 'eth1');
  const gone = ev.find((e) => e.kind === 'net.link_delete' && e.ifname === eth1.host_ifname);
  // One cable: the diagram alone, no list.
  await open(name, eth1.seq - 1);
  assert.equal(await page.locator('#rede-cabos').count(), 0);
  await open(name, addr.seq);
  const items = page.locator('#rede-cabos li');
  assert.equal(await items.count(), 2);
  assert.match(await items.nth(1).textContent(),
    new RegExp(`eth1 ${addr.address.replaceAll('.', '\\.')} · ${eth1.host_ifname} na bridge cas-`));
  assert.match(await page.getAttribute('#svg-rede', 'aria-label'), /cabo eth1 \(contêiner\)/);
  await shot('10c-rede-dois-cabos');
  await open(name, gone.seq);
  assert.equal(await page.locator('#rede-cabos li.removido').count(), 1);
  assert.match(await page.locator('#rede-cabos li').nth(1).textContent(), /removido/);
});

test('rede: sem --network bridge, só lo e nenhum cabo', async () => {
  await open('run-echo.trace.jsonl');
  await page.keyboard.press('End');
  assert.equal(await page.locator('#cabo-veth').count(), 0);
  assert.ok(await page.isVisible('#rede-sem-bridge'));
  assert.match(await rede(), /lo ▲ ativa/);
  // Not a build: no Build panel.
  assert.equal(await page.locator('.build').count(), 0);
});

test('build frio: a pilha de camadas cresce passo a passo e a imagem aparece no fim', async () => {
  const name = 'build-cold.trace.jsonl';
  const ev = events(name);
  const start = ev.find((e) => e.kind === 'build.start');
  const steps = ev.filter((e) => e.kind === 'build.step');
  const layers = ev.filter((e) => e.kind === 'build.layer');
  const commit = ev.find((e) => e.kind === 'build.commit');
  const base = ev.find((e) => e.kind === 'build.base');
  assert.ok(layers.length >= 1, 'o build frio gera camadas');

  // Before build.start: the panel says so, the Dockerfile is listed as pending.
  await open(name, start.seq - 1);
  assert.ok(await page.isVisible('#build-vazio'));
  assert.equal(await page.locator('#dockerfile li.futuro').count(), steps.length);

  // The base's layers at the bottom.
  await open(name, base.seq);
  assert.equal(await page.locator('#svg-build g.degrau.base').count(), base.diff_ids.length);
  assert.match(await page.textContent('#svg-build'), new RegExp(base.diff_ids[0].slice(7, 19)));

  // Each build.layer puts one more new layer on the stack, with its size.
  let before = await page.locator('#svg-build g.degrau').count();
  for (const [i, l] of layers.entries()) {
    const step = steps.find((s) => s.step === l.step);
    await open(name, l.seq - 1);
    // The step is running: highlighted, in the diagram and in the Dockerfile.
    assert.match(await page.textContent('#svg-build g.degrau.atual'), new RegExp(`passo ${l.step} · ${step.instruction}`));
    assert.match(await page.textContent('#dockerfile li.atual'), /rodando/);
    assert.equal(await page.locator('#svg-build g.degrau.nova').count(), i);
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.locator('#svg-build g.degrau.nova').count(), i + 1);
    // Drawn bottom up: the newest layer is the last one.
    const fresh = page.locator('#svg-build g.degrau.nova').last();
    assert.match(await fresh.textContent(), new RegExp(`passo ${l.step} ·.*camada nova`));
    assert.match(await fresh.textContent(), /\+ nova/);
    // Named and sized as the CLI says it: diff_id, uncompressed tar.
    assert.match(await fresh.textContent(), new RegExp(`tar descomprimido de .*${l.diff_id.slice(7, 14)}`));
    const now = await page.locator('#svg-build g.degrau').count();
    assert.ok(now >= before, `${before} → ${now}`);
    before = now;
  }
  assert.equal(await page.locator('#svg-build g.degrau.cache').count(), 0);
  assert.equal(await page.locator('#imagem-final').count(), 0);
  await shot('11-build-frio-camadas');

  // The commit: the image with its tag and id on top.
  await open(name, commit.seq);
  const img = await page.textContent('#imagem-final');
  if (commit.tag) assert.match(img, new RegExp(commit.tag.replace('.', '\\.')));
  assert.match(img, new RegExp(`${commit.image_id.slice(7, 19)} · ${commit.layers} camadas`));
  assert.equal(await page.locator('#dockerfile li.atual').count(), 0);
  assert.equal(await page.locator('#dockerfile li.futuro').count(), 0);
  await shot('12-build-frio-imagem');

  // A Dockerfile line is a button (mouse or keyboard) to its build.step.
  const run = steps.find((s) => s.instruction === 'RUN');
  await page.locator('#dockerfile li', { hasText: run.args.slice(0, 12) }).locator('button').focus();
  await page.keyboard.press('Enter');
  assert.equal(await position(), `evento ${run.seq} de ${lastSeq(ev)}`);
  assert.match(await page.textContent('#dockerfile li.atual'), /rodando/);
});

test('build com cache: os passos do cache aparecem marcados (cor e a palavra "cache")', async () => {
  const name = 'build-cached.trace.jsonl';
  const ev = events(name);
  const hits = ev.filter((e) => e.kind === 'build.cache_hit');
  const commit = ev.find((e) => e.kind === 'build.commit');
  assert.ok(hits.length >= 1, 'o build repetido usa o cache');
  await open(name, hits[0].seq - 1);
  assert.equal(await page.locator('#svg-build g.degrau.cache').count(), 0);
  await page.keyboard.press('ArrowRight');
  const cached = page.locator('#svg-build g.degrau.cache');
  assert.equal(await cached.count(), 1);
  // Not colour alone: the label says "cache".
  assert.match(await cached.textContent(), new RegExp(`passo ${hits[0].step} .*cache`));
  assert.match(await page.textContent('#dockerfile'), /do cache ✓/);

  await open(name, commit.seq);
  assert.equal(await page.locator('#svg-build g.degrau.cache').count(), hits.length);
  assert.equal(await page.locator('#svg-build g.degrau.nova').count(), ev.filter((e) => e.kind === 'build.layer').length);
  // Every cached step says "cache", thin (config only) or not.
  assert.equal(await page.locator('#svg-build .selo.cache').count(), hits.length);
  assert.equal(await page.locator('#svg-build g.degrau.cache.fino').count(), hits.filter((h) => !h.diff_id).length);
  assert.match(await page.textContent('#build-resumo'), /vier(am|o) do cache/);
  assert.ok(await page.isVisible('#imagem-final'));
  await shot('13-build-com-cache');
});

test('build em estágios: uma pilha por estágio, o COPY --from vem do outro e a imagem sai só do último', async () => {
  const name = 'build-multistage.trace.jsonl';
  const ev = events(name);
  const bases = ev.filter((e) => e.kind === 'build.base');
  const copy = ev.find((e) => e.kind === 'build.step' && e.copy_from);
  const copyLayer = ev.find((e) => e.kind === 'build.layer' && e.step === copy.step);
  const commit = ev.find((e) => e.kind === 'build.commit');
  assert.equal(bases.length, 2, 'dois estágios rodaram (o terceiro foi pulado)');
  const [first, last] = bases.map((b) => b.stage_index);

  // While the first stage runs: one stack, the first stage's.
  await open(name, bases[0].seq);
  assert.equal(await page.locator('#estagios figure.estagio').count(), 1);
  assert.match(await page.textContent(`#estagio-${first} figcaption`), /Estágio compilador/);

  // The second FROM: a second stack beside the first (same row), from busybox.
  await open(name, bases[1].seq);
  assert.equal(await page.locator('#estagios figure.estagio').count(), 2);
  const a = await page.locator(`#estagio-${first}`).boundingBox();
  const b = await page.locator(`#estagio-${last}`).boundingBox();
  assert.ok(b.x > a.x + a.width - 1, `lado a lado: ${JSON.stringify([a, b])}`);
  assert.equal(await page.locator(`#svg-estagio-${last} g.degrau.base`).count(), bases[1].diff_ids.length);

  // The COPY --from layer: marked with its source stage, in words.
  await open(name, copyLayer.seq);
  const row = page.locator(`#svg-estagio-${last} g.degrau.copia-de-estagio`);
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /⟵ de compilador/);
  assert.match(await row.textContent(), /\+ nova/);
  assert.equal(await page.locator(`#svg-estagio-${first} g.degrau.copia-de-estagio`).count(), 0);

  // The commit: the image on top of the last stage only, with its layers.
  await open(name, commit.seq);
  assert.equal(await page.locator(`#svg-estagio-${last} #imagem-final`).count(), 1);
  assert.equal(await page.locator(`#svg-estagio-${first} #imagem-final`).count(), 0);
  assert.match(await page.textContent('#imagem-final'), new RegExp(`${commit.layers} camadas`));
  const lastLayers = await page.locator(`#svg-estagio-${last} g.degrau:not(.fino)`).count();
  assert.equal(lastLayers, commit.layers, 'a pilha do último estágio = as camadas da imagem');
  assert.match(await page.textContent(`#estagio-${first} figcaption`), /fica fora da imagem/);
  assert.match(await page.textContent(`#estagio-${last} figcaption`), /vira a imagem final/);
  assert.match(await page.textContent('#build-estagios-resumo'), new RegExp(`só as camadas do último \\(${commit.layers}\\)`));
  await shot('15-build-estagios');
});

test('comparação: build frio × build com cache marca camada nova contra cache no mesmo passo', async () => {
  await page.goto(`${URL_BASE}?trace=traces/build-cold.trace.jsonl&comparar=traces/build-cached.trace.jsonl`);
  await page.waitForSelector('#resumo-comparacao');
  const differ = page.locator('tr.diferente', { hasText: 'build.layer' });
  assert.ok(await differ.count() >= 1);
  assert.match(await differ.first().textContent(), /build\.cache_hit/);
  assert.match(await differ.first().textContent(), /≠/);
  assert.match(await page.textContent('#diferencas'), /em A fez uma camada nova .*; em B usou o cache/);
  await shot('14-comparacao-build');
});

test('comparação: com e sem --network bridge', async () => {
  await page.goto(`${URL_BASE}?trace=traces/run-network.trace.jsonl&comparar=traces/run-echo.trace.jsonl`);
  await page.waitForSelector('#resumo-comparacao');
  const onlyA = await page.locator('tr.so-a').allTextContents();
  for (const k of ['net.bridge', 'net.veth', 'net.port']) {
    assert.ok(onlyA.some((t) => t.includes(k)), `${k} só em A`);
  }
  assert.match(await page.textContent('#diferencas'), /Rede: A rede bridge \(bridge casulo0 .*porta \d+→\d+\); B sem rede bridge \(só lo\)/);
});

test('letras grandes: os diagramas de build e de rede crescem, sem texto fora das caixas', async () => {
  const groups = ['#svg-build g.degrau', '#svg-build g.imagem-final', '#svg-rede g.caixa'];
  const ev = events('build-cold.trace.jsonl');
  const commit = ev.find((e) => e.kind === 'build.commit');
  const net = events('run-network.trace.jsonl');
  const close = net.find((e) => e.kind === 'net.port_close');
  const sel = { build: '#svg-build .titulo-degrau', rede: '#svg-rede .nome-if' };
  const normal = {};
  const large = {};
  for (const [name, seq, key] of [['build-cold.trace.jsonl', commit.seq, 'build'], ['run-network.trace.jsonl', close.seq - 1, 'rede']]) {
    await open(name, seq);
    normal[key] = await textSize(sel[key]);
    for (const g of groups) assert.deepEqual(await overflowing(g), [], `${g} em letras normais (${name})`);
    await page.getByRole('button', { name: 'Letras grandes' }).click();
    await page.waitForSelector('.app.grande');
    large[key] = await textSize(sel[key]);
    for (const g of groups) assert.deepEqual(await overflowing(g), [], `${g} em letras grandes (${name})`);
    await shot(`15-letras-grandes-${key}`);
    await page.getByRole('button', { name: 'Letras normais' }).click();
  }
  for (const k of ['build', 'rede']) {
    assert.ok(large[k].css >= normal[k].css * 1.35, `${k}: ${normal[k].css} → ${large[k].css}`);
    assert.ok(large[k].screen > normal[k].screen * 1.3, `${k} na tela: ${normal[k].screen} → ${large[k].screen}`);
  }
});

test('rede: nenhum texto sai da caixa do host, em letras normais e grandes', async () => {
  const net = events('run-network.trace.jsonl');
  const close = net.find((e) => e.kind === 'net.port_close');
  // Every text of the diagram inside the host's box (the first rect).
  const outside = () => page.$eval('#svg-rede', (svg) => {
    const host = svg.querySelector('rect.host').getBBox();
    return [...svg.querySelectorAll('text')].filter((t) => {
      const b = t.getBBox();
      return b.x < host.x || b.x + b.width > host.x + host.width || b.y < host.y || b.y + b.height > host.y + host.height;
    }).map((t) => t.textContent);
  });
  // After the close: the longest port label ("· fechada").
  await open('run-network.trace.jsonl', close.seq);
  assert.deepEqual(await outside(), []);
  await page.getByRole('button', { name: 'Letras grandes' }).click();
  await page.waitForSelector('.app.grande');
  assert.deepEqual(await outside(), []);
  await page.getByRole('button', { name: 'Letras normais' }).click();
});

// One numbering everywhere: the header, the hash, the events panel and
// `casulo trace show` all use the trace's `seq`.
test('numeração: #evento=N mostra "evento N" no topo e #N no painel de eventos', async () => {
  const ev = events('run-echo.trace.jsonl');
  const n = 21;
  await open('run-echo.trace.jsonl', n);
  assert.equal(await position(), `evento ${n} de ${lastSeq(ev)}`);
  assert.equal(await page.textContent('.evento.selecionado .seq'), `#${n}`);
  assert.match(await page.textContent('#detalhe'), new RegExp(`#${n} ·`));
  assert.match(await page.textContent('.evento.selecionado .tipo'), new RegExp(ev.find((e) => e.seq === n).kind.replace('.', '\\.')));
  await hashIs(`#evento=${n}`);
  assert.equal(await page.textContent('#total-eventos'), `Eventos: ${ev.length} (#${ev[0].seq} a #${lastSeq(ev)})`);
  // A click on another row: the three agree again.
  await page.locator('.evento', { hasText: `#${n + 2}` }).locator('button').click();
  assert.equal(await position(), `evento ${n + 2} de ${lastSeq(ev)}`);
  await hashIs(`#evento=${n + 2}`);
  assert.equal(await page.textContent('.evento.selecionado .seq'), `#${n + 2}`);
});

/** Writes `name` in the traces dir: `fixture` with its header changed by
 * `header(h)` and each event by `event(e)` (both edit in place). */
function writeTrace(name, fixture, header = () => {}, event = () => {}) {
  const [head, ...rest] = readFileSync(join(TRACES, fixture), 'utf8').trim().split('\n');
  const h = JSON.parse(head);
  header(h);
  const ev = rest.map((l) => { const e = JSON.parse(l); event(e); return JSON.stringify(e); });
  writeFileSync(join(TRACES, name), [JSON.stringify(h), ...ev].join('\n') + '\n');
  return name;
}

/** True when the element's top edge is inside the window. */
const inView = (sel) => page.$eval(sel, (el) => {
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.top < window.innerHeight && r.height > 0;
});

test('300 traces na máquina: os mais novos primeiro, com nome, imagem e comando; abrir um põe o reprodutor à vista e a lista sai do caminho', async () => {
  const made = [];
  try {
    for (let i = 0; i < 300; i++) {
      const n = String(i).padStart(3, '0');
      made.push(writeTrace(`muitos-${n}.trace.jsonl`, 'run-echo.trace.jsonl', (h) => {
        h.container.name = `lab-${n}`;
        h.container.command = ['echo', `volta ${i}`];
        // Far ahead of every recorded fixture (they are newest-first too).
        h.started_at = new Date(Date.UTC(2099, 11, 1, 8, 0, 0) + i * 60_000).toISOString();
      }));
    }
    await page.goto('about:blank');
    await page.goto(URL_BASE);
    await page.waitForSelector('ul.traces li');
    const rows = page.locator('ul.traces li');
    assert.ok(await rows.count() >= 300, `${await rows.count()} traces na lista`);
    // Newest first, labelled by what each run was (its header), not only the file.
    const first = await rows.first().textContent();
    assert.match(first, /lab-299 · busybox:latest · echo volta 299/);
    assert.match(first, /01\/12\/2099 12:59 UTC/);
    assert.match(first, /muitos-299\.trace\.jsonl/);
    assert.match(await rows.nth(1).textContent(), /lab-298 /);
    // A box that scrolls: the page itself stays short.
    const pageHeight = await page.evaluate(() => document.documentElement.scrollHeight);
    assert.ok(pageHeight < 2000, `página com ${pageHeight} px`);
    // The filter finds one among hundreds.
    await page.fill('#filtro-traces', 'volta 150');
    assert.equal(await rows.count(), 1);
    await shot('20-muitos-traces');
    await page.fill('#filtro-traces', '');
    // Opening one deep in the list: the player is in view, the list folded.
    await page.getByRole('button', { name: /lab-150 ·/ }).click();
    await page.waitForFunction(() => document.querySelector('#nome-trace')?.textContent.includes('muitos-150'));
    await page.waitForSelector('.controles');
    assert.ok(await inView('.controles'), 'o reprodutor não está à vista');
    assert.ok(await inView('section.info'), 'as informações do trace não estão à vista');
    assert.equal(await page.getAttribute('#outros-traces', 'open'), null);
    assert.ok(!(await page.isVisible('ul.traces')));
    assert.match(await page.textContent('#outros-traces summary'), /Outros traces desta máquina \(\d+\)/);
    await shot('21-muitos-traces-aberto');
    // Another one from the folded list: opens, and the list folds again.
    await page.click('#outros-traces summary');
    await page.getByRole('button', { name: /lab-010 ·/ }).click();
    await page.waitForFunction(() => document.querySelector('#nome-trace')?.textContent.includes('muitos-010'));
    assert.equal(await page.getAttribute('#outros-traces', 'open'), null);
    assert.ok(await inView('.controles'));
  } finally {
    for (const name of made) unlinkSync(join(TRACES, name));
  }
});

test('comparação: --memory 32m × 64m conta o limite mudado como diferença; escolhida na lista da máquina', async () => {
  // The OOM run with its memory limit edited from 32 MiB to 64 MiB.
  const [m32, m64] = [33554432, 67108864];
  const b = writeTrace('memoria-64m.trace.jsonl', 'run-oom.trace.jsonl', (h) => {
    h.container.name = 'memoria-64m';
  }, (e) => {
    if (e.kind === 'cgroup.limit') {
      e.value = String(m64);
      e.op = e.op.replace(String(m32), String(m64));
    }
    if (e.kind === 'cgroup.sample') e.memory_limit_bytes = m64;
  });
  try {
    await open('run-oom.trace.jsonl');
    await page.waitForSelector('#comparar-lista option[value="traces/memoria-64m.trace.jsonl"]', { state: 'attached' });
    await page.selectOption('#comparar-lista', 'traces/memoria-64m.trace.jsonl');
    await page.waitForSelector('#resumo-comparacao');
    assert.match(new URL(page.url()).search, /trace=traces\/run-oom\.trace\.jsonl&comparar=traces%2Fmemoria-64m\.trace\.jsonl/);
    assert.match(await page.textContent('#resumo-comparacao'), /0 só em A, 0 só em B, 1 com a mesma operação alterada/);
    const limitRow = page.locator('tr', { hasText: 'cgroup.limit' });
    assert.equal(await limitRow.count(), 1);
    assert.ok(await limitRow.evaluate((tr) => tr.classList.contains('diferente')));
    assert.match(await limitRow.textContent(), /≠/);
    assert.match(await page.textContent('#diferencas'), /Limite memory\.limit_in_bytes: A 32 MiB; B 64 MiB\./);
    await shot('22-comparacao-32m-64m');
    // The link keeps the comparison.
    await page.goto('about:blank');
    await page.goto(`${URL_BASE}?trace=traces/run-oom.trace.jsonl&comparar=traces/${b}`);
    await page.waitForSelector('#diferencas');
    assert.match(await page.textContent('#diferencas'), /A 32 MiB; B 64 MiB/);
  } finally {
    unlinkSync(join(TRACES, b));
  }
  // A run with a limit and an OOM against one without: both told.
  await page.goto(`${URL_BASE}?trace=traces/run-oom.trace.jsonl&comparar=traces/run-echo.trace.jsonl`);
  await page.waitForSelector('#diferencas');
  const changes = await page.textContent('#diferencas');
  assert.match(changes, /Limite memory\.limit_in_bytes: A 32 MiB; B sem limite\./);
  assert.match(changes, /Falta de memória \(OOM\): em A 1 processo morto pelo kernel; em B nenhum\./);
  assert.match(changes, /Fim do processo: em A morto por SIGKILL; em B terminou com código 0\./);
});

test('cgroups: valores em MiB no eixo, o pico entre duas medições, e PIDs ditos como PIDs', async () => {
  const ev = events('run-oom.trace.jsonl');
  const oom = ev.find((e) => e.kind === 'cgroup.oom');
  const attach = ev.find((e) => e.kind === 'cgroup.attach');
  await open('run-oom.trace.jsonl', oom.seq);
  assert.deepEqual(await page.locator('#grafico-memoria .marca-eixo text').allTextContents(),
    ['0 MiB', '8 MiB', '16 MiB', '24 MiB', '32 MiB']);
  // The usage read at each sample never reached the limit; the kernel's
  // peak did (the allocation happened between two samples).
  const limitY = parseFloat(await page.getAttribute('#grafico-memoria line.limite', 'y1'));
  const peakYs = await page.$eval('#grafico-memoria .pico', (el) => el.getAttribute('points').trim().split(' ').map((p) => parseFloat(p.split(',')[1])));
  const usageYs = await page.$$eval('#grafico-memoria .ponto', (cs) => cs.map((c) => parseFloat(c.getAttribute('cy'))));
  assert.ok(Math.abs(Math.min(...peakYs) - limitY) < 0.5, `pico ${Math.min(...peakYs)} × limite ${limitY}`);
  assert.ok(Math.min(...usageYs) > limitY + 5, `uso ${Math.min(...usageYs)} × limite ${limitY}`);
  assert.match(await page.textContent('#uso-atual'), /\(pico 32 MiB\)/);
  assert.ok(await page.isVisible('#legenda-memoria'));
  // The attached process is named by its PID, not counted.
  const cg = await page.textContent('.arvore-cgroups');
  assert.match(cg, new RegExp(`1 processo colocado no grupo: PID ${attach.target_pid} no host`));
  assert.doesNotMatch(cg, /processos: \d/);
  await shot('23-cgroups-pico');
  // The OOM's narration says the peak (the sample trace records it).
  const sample = events('sample.trace.jsonl');
  const sampleOom = sample.find((e) => e.kind === 'cgroup.oom');
  await open('sample.trace.jsonl', sampleOom.seq);
  assert.match(await page.textContent('#detalhe'), /o pico de uso chegou a 64 MiB/);
});

test('namespaces lado a lado (nenhum dentro do outro); depois do process.exit, acabaram, e o overlay foi desmontado', async () => {
  const ev = events('run-echo.trace.jsonl');
  const exit = ev.find((e) => e.kind === 'process.exit');
  await open('run-echo.trace.jsonl', exit.seq - 1);
  const boxes = await page.$$eval('#svg-ns g.ns > rect', (rs) => rs.map((r) => {
    const b = r.getBBox();
    return { x: b.x, y: b.y, w: b.width, h: b.height };
  }));
  assert.ok(boxes.length >= 5, `${boxes.length} namespaces`);
  for (const [i, a] of boxes.entries()) {
    for (const b of boxes.slice(i + 1)) {
      const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
      assert.ok(apart, `caixas sobrepostas: ${JSON.stringify(a)} ${JSON.stringify(b)}`);
    }
  }
  assert.equal(await page.locator('#svg-ns line.liga-ns').count(), boxes.length);
  assert.equal(await page.locator('#svg-ns line.tronco-ns').count(), 1);
  assert.match(await page.textContent('#ns-dica'), /independente/);
  assert.equal(await page.locator('#svg-ns g.ns.encerrado').count(), 0);
  assert.match(await page.textContent('#processo-init'), /rodando/);
  assert.deepEqual(await overflowing('#svg-ns g.ns'), []);
  assert.ok(!(await page.locator('#svg-fs g.merged').evaluate((g) => g.classList.contains('encerrado'))));
  await shot('24-namespaces-lado-a-lado');

  await page.keyboard.press('ArrowRight');
  assert.equal(await position(), `evento ${exit.seq} de ${lastSeq(ev)}`);
  assert.equal(await page.locator('#svg-ns g.ns.encerrado').count(), boxes.length);
  assert.match(await page.textContent('#svg-ns g.ns'), /acabou/);
  assert.match(await page.locator('#svg-ns g.ns > rect title').first().textContent(), /o kernel o liberou/);
  assert.match(await page.textContent('#processo-init'), /terminou com código 0/);
  assert.ok(await page.locator('#svg-fs g.merged').evaluate((g) => g.classList.contains('encerrado')));
  assert.match(await page.textContent('#svg-fs'), /merged: desmontado \(o contêiner terminou\)/);
  assert.ok(await page.locator('#svg-fs g.montagem').first().evaluate((g) => g.classList.contains('encerrado')));
  await shot('25-namespaces-encerrados');
  // Every label inside its box, in normal and in large type.
  for (const group of ['#svg-ns g.ns', '#processo-init']) {
    assert.deepEqual(await overflowing(group), [], `${group} (fim, letras normais)`);
  }
  await page.getByRole('button', { name: 'Letras grandes' }).click();
  await page.waitForSelector('.app.grande');
  for (const group of ['#svg-ns g.ns', '#processo-init']) {
    assert.deepEqual(await overflowing(group), [], `${group} (fim, letras grandes)`);
  }
  await page.getByRole('button', { name: 'Letras normais' }).click();
  await page.waitForSelector('.app:not(.grande)');
});

test('linha do tempo: cada marca tem uma dica com o número, o tipo e o que aconteceu', async () => {
  const ev = events('run-echo.trace.jsonl');
  await open('run-echo.trace.jsonl', 0);
  const titles = await page.$$eval('.marcas rect title', (ts) => ts.map((t) => t.textContent));
  // Fewer events than columns: one mark per event.
  assert.equal(titles.length, ev.length);
  const i = ev.findIndex((e) => e.kind === 'mount.pivot_root');
  assert.match(titles[i], new RegExp(`^#${ev[i].seq} mount\\.pivot_root: .+`));
  const exit = ev.findIndex((e) => e.kind === 'process.exit');
  assert.match(titles[exit], new RegExp(`^#${ev[exit].seq} process\\.exit: .+`));
});

// Embed mode: the same app in a frame of the course book
// (`{{#replay nome paineis=… de=N ate=M}}`).

/** A fresh page of the given size (a frame of the book is ~900×520). */
async function framePage(width = 900, height = 520) {
  const p = await browser.newPage({ viewport: { width, height } });
  p.on('pageerror', (e) => pageErrors.push(e.message));
  return p;
}

/** The URL the book's preprocessor writes in the iframe. */
const embedUrl = (name, extra = '') => `${URL_BASE}index.html?trace=traces/${name}&embed=1${extra}`;

/** The class names of the panels shown, in order. */
const panelsShown = (p) => p.$$eval('section.painel', (ss) => ss.map((s) => [...s.classList].find((c) => c !== 'painel')));

/** True when the page scrolls sideways. */
const sideScroll = (p) => p.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

test('embutido: só os painéis pedidos, sem escolher arquivo, lista, comparação nem letras grandes', async () => {
  const ev = events('run-echo.trace.jsonl');
  const clone = ev.find((e) => e.kind === 'process.clone');
  // The book serves the app from its own folder (visualizador/): every
  // path in index.html must be relative.
  const html = await (await fetch(`${URL_BASE}index.html`)).text();
  assert.doesNotMatch(html, /(src|href)="\//);
  assert.match(html, /import init from '\.\/index\.js'/);
  const p = await framePage();
  try {
    await p.goto(embedUrl('run-echo.trace.jsonl', `&paineis=namespaces,eventos&de=${clone.seq}&ate=${clone.seq + 4}`));
    await p.waitForSelector('#posicao');
    assert.deepEqual(await panelsShown(p), ['namespaces', 'eventos']);
    for (const sel of ['#arquivo-trace', '#arquivo-comparar', '.carregar', '.lista-traces', '.topo', 'h1', '.info', '#velocidade', '.legenda']) {
      assert.equal(await p.locator(sel).count(), 0, `${sel} não aparece no modo embutido`);
    }
    assert.equal(await p.getByRole('button', { name: /Letras grandes|Comparar/ }).count(), 0);
    assert.ok(!(await sideScroll(p)), 'sem rolagem lateral em 900 px');
    await p.screenshot({ path: join(SHOTS, '16-embutido-900.png'), fullPage: true });
    await p.setViewportSize({ width: 600, height: 520 });
    await p.waitForTimeout(100);
    assert.ok(!(await sideScroll(p)), 'sem rolagem lateral em 600 px');
    await p.screenshot({ path: join(SHOTS, '17-embutido-600.png'), fullPage: true });

    // Without paineis=: the panels the full app shows for that trace.
    await p.goto(embedUrl('build-cold.trace.jsonl'));
    await p.waitForSelector('#posicao');
    assert.deepEqual(await panelsShown(p), ['eventos', 'build', 'namespaces', 'arquivos', 'cgroups', 'rede']);
    // Without de=: opens at the first event.
    const b = events('build-cold.trace.jsonl');
    assert.equal(await p.textContent('#posicao'), `evento ${b[0].seq} de ${lastSeq(b)}`);
    // A build's layer stack beside the events, at 900 px.
    const layer = b.find((e) => e.kind === 'build.layer');
    await p.setViewportSize({ width: 900, height: 520 });
    await p.goto(embedUrl('build-cold.trace.jsonl', `&paineis=eventos,build&de=${layer.seq}&ate=${lastSeq(b)}`));
    await p.waitForSelector('#svg-build');
    assert.deepEqual(await panelsShown(p), ['eventos', 'build']);
    assert.equal(await p.locator('#svg-build g.degrau.nova').count(), 1);
    assert.ok(!(await sideScroll(p)), 'build sem rolagem lateral em 900 px');
    await p.screenshot({ path: join(SHOTS, '16b-embutido-build-900.png'), fullPage: true });

    // A panel asked for stays, saying there is nothing yet (no vanishing).
    const n = events('run-network.trace.jsonl');
    const netNs = n.find((e) => e.kind === 'namespace.create' && e.ns === 'net');
    await p.setViewportSize({ width: 600, height: 520 });
    await p.goto(embedUrl('run-network.trace.jsonl', `&paineis=rede&de=${n[0].seq}&ate=${netNs.seq}`));
    await p.waitForSelector('#posicao');
    assert.deepEqual(await panelsShown(p), ['rede']);
    assert.ok(await p.isVisible('#rede-vazio'));
    await p.keyboard.press('End');
    assert.equal(await p.locator('#rede-vazio').count(), 0);
    assert.ok(!(await sideScroll(p)), 'rede sozinha, sem rolagem lateral em 600 px');
    await p.screenshot({ path: join(SHOTS, '17b-embutido-rede-600.png'), fullPage: true });
  } finally {
    await p.close();
  }
});

test('embutido: abre no evento de, → anda e para em ate, ← para em de, play para em ate', async () => {
  const ev = events('run-oom.trace.jsonl');
  const limit = ev.find((e) => e.kind === 'cgroup.limit');
  const [de, ate] = [limit.seq, limit.seq + 4];
  const p = await framePage();
  const pos = () => p.textContent('#posicao');
  try {
    await p.goto(embedUrl('run-oom.trace.jsonl', `&paineis=eventos,cgroups&de=${de}&ate=${ate}`));
    await p.waitForSelector('#posicao');
    // At de: the event applied and selected.
    assert.equal(await pos(), `evento ${de} de ${ate}`);
    assert.equal(await p.textContent('.evento.selecionado .seq'), `#${de}`);
    assert.match(await p.textContent('#detalhe'), new RegExp(`#${de} ·`));
    assert.match(await p.textContent('.cgroups'), /memory\.limit_in_bytes = 33554432 \(32 MiB\)/);
    assert.ok(await p.isDisabled('#voltar'));
    // The list and the timeline keep to [de, ate].
    const seqs = (await p.$$eval('.lista-eventos .seq', (s) => s.map((x) => Number(x.textContent.slice(1)))));
    assert.ok(seqs.every((s) => s >= de && s <= ate), seqs.join(' '));
    // (Positions count events applied; the range starts one step before
    // de, where the marks start, but the thumb never rests there.)
    const [lo, hi] = [ev.findIndex((e) => e.seq === de) + 1, ev.findIndex((e) => e.seq === ate) + 1];
    assert.deepEqual(await p.$eval('#linha-do-tempo', (r) => [Number(r.min), Number(r.max), Number(r.value)]), [lo - 1, hi, lo]);
    await p.$eval('#linha-do-tempo', (el) => { el.value = el.min; el.dispatchEvent(new Event('input', { bubbles: true })); });
    assert.equal(await pos(), `evento ${de} de ${ate}`);
    assert.equal(await p.$eval('#linha-do-tempo', (r) => Number(r.value)), lo);
    await p.$eval('#linha-do-tempo', (el) => { el.value = el.max; el.dispatchEvent(new Event('input', { bubbles: true })); });
    assert.equal(await pos(), `evento ${ate} de ${ate}`);
    await p.keyboard.press('Home');
    assert.equal(await pos(), `evento ${de} de ${ate}`);

    await p.click('.painel.eventos h2');
    for (let s = de + 1; s <= ate; s++) {
      await p.keyboard.press('ArrowRight');
      assert.equal(await pos(), `evento ${s} de ${ate}`);
    }
    await p.keyboard.press('ArrowRight');
    await p.keyboard.press('End');
    assert.equal(await pos(), `evento ${ate} de ${ate}`);
    assert.ok(await p.isDisabled('#avancar'));
    await p.screenshot({ path: join(SHOTS, '18-embutido-ate.png'), fullPage: true });
    for (let s = ate - 1; s >= de; s--) {
      await p.keyboard.press('ArrowLeft');
      assert.equal(await pos(), `evento ${s} de ${ate}`);
    }
    await p.keyboard.press('ArrowLeft');
    await p.keyboard.press('Home');
    assert.equal(await pos(), `evento ${de} de ${ate}`);

    // Space plays; playback stops by itself at ate.
    await p.keyboard.press(' ');
    await p.waitForFunction((t) => document.querySelector('#posicao').textContent === t
      && document.querySelector('#tocar').getAttribute('aria-pressed') === 'false', `evento ${ate} de ${ate}`);
    await p.waitForTimeout(600);
    assert.equal(await pos(), `evento ${ate} de ${ate}`);
    // Playing again starts over from de.
    await p.click('#tocar');
    await p.waitForFunction((t) => document.querySelector('#posicao').textContent !== t, `evento ${ate} de ${ate}`);
    assert.match(await pos(), new RegExp(`^evento (${de}|${de + 1}|${de + 2}) de ${ate}$`));
    await p.click('#tocar');
  } finally {
    await p.close();
  }
});

test('embutido: parâmetro errado mostra o erro em português, nunca uma página em branco', async () => {
  const ev = events('run-echo.trace.jsonl');
  const p = await framePage();
  const cases = [
    ['&paineis=eventos,redes', /parâmetro paineis .*«redes».*eventos, namespaces, arquivos, cgroups, rede, seguranca, registry, build/],
    [`&ate=${lastSeq(ev) + 100}`, new RegExp(`parâmetro ate=${lastSeq(ev) + 100} está fora deste trace.*do ${ev[0].seq} ao ${lastSeq(ev)}`)],
    ['&de=cinco', /parâmetro de=cinco não é um número de evento/],
    ['&de=9&ate=3', /de=9 vem depois de ate=3/],
  ];
  try {
    for (const [extra, msg] of cases) {
      await p.goto(embedUrl('run-echo.trace.jsonl', extra));
      await p.waitForSelector('#erro');
      assert.match(await p.textContent('#erro'), msg);
      assert.equal(await p.locator('.controles').count(), 0);
      assert.equal(await p.locator('#arquivo-trace').count(), 0);
    }
    await p.goto(embedUrl('run-echo.trace.jsonl', '&paineis=eventos,redes'));
    await p.waitForSelector('#erro');
    await p.screenshot({ path: join(SHOTS, '19-embutido-erro.png'), fullPage: true });
    // No trace at all.
    await p.goto(`${URL_BASE}index.html?embed=1`);
    await p.waitForSelector('#erro');
    assert.match(await p.textContent('#erro'), /precisa do parâmetro trace/);
  } finally {
    await p.close();
  }
});

test('embutido: o link "abrir no visualizador completo" leva ao mesmo evento', async () => {
  const ev = events('run-echo.trace.jsonl');
  const pidNs = ev.find((e) => e.kind === 'namespace.create' && e.ns === 'pid');
  const p = await framePage();
  try {
    await p.goto(embedUrl('run-echo.trace.jsonl', `&paineis=namespaces&de=${pidNs.seq}&ate=${pidNs.seq + 5}`));
    await p.waitForSelector('#posicao');
    const link = p.locator('#abrir-completo');
    assert.match(await link.textContent(), /abrir no visualizador completo ↗/);
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('href'), `index.html?trace=traces%2Frun-echo.trace.jsonl#evento=${pidNs.seq}`);
    await p.keyboard.press('ArrowRight');
    assert.equal(await link.getAttribute('href'), `index.html?trace=traces%2Frun-echo.trace.jsonl#evento=${pidNs.seq + 1}`);
    // Followed: the full app, at the same event, with the same number.
    const [full] = await Promise.all([p.context().waitForEvent('page'), link.click()]);
    full.on('pageerror', (e) => pageErrors.push(e.message));
    await full.waitForSelector('#total-eventos');
    assert.equal(await full.textContent('#posicao'), `evento ${pidNs.seq + 1} de ${lastSeq(ev)}`);
    assert.equal(await full.textContent('.evento.selecionado .seq'), `#${pidNs.seq + 1}`);
    assert.equal(await full.locator('#arquivo-trace').count(), 1);
    await full.close();
  } finally {
    await p.close();
  }
});

test('embutido num iframe: manda a altura ao livro, o clique dá o teclado ao quadro, sem rolagem lateral', async () => {
  const ev = events('run-echo.trace.jsonl');
  const clone = ev.find((e) => e.kind === 'process.clone');
  const [de, ate] = [clone.seq, clone.seq + 6];
  const src = embedUrl('run-echo.trace.jsonl', `&paineis=eventos,namespaces&de=${de}&ate=${ate}`);
  const p = await framePage(1000, 800);
  try {
    // The book's side, as small as can be: size the iframe by the message.
    await p.setContent(`<!doctype html><html><body style="margin:0">
      <p>Texto do capítulo antes do replay.</p>
      <iframe id="replay" src="${src}" style="width:900px;height:520px;border:1px solid #999"></iframe>
      <script>
        window.alturas = [];
        addEventListener('message', (e) => {
          if (!e.data || typeof e.data.casuloAltura !== 'number') return;
          window.alturas.push(e.data);
          document.getElementById('replay').style.height = e.data.casuloAltura + 'px';
        });
      </script></body></html>`);
    // The first message may come while the trace is still loading (short).
    await p.waitForFunction(() => window.alturas.some((a) => a.casuloAltura > 150));
    const all = await p.evaluate(() => window.alturas);
    assert.ok(all.every((a) => a.casuloTrace === 'traces/run-echo.trace.jsonl'), JSON.stringify(all));
    const frame = p.frames().find((f) => f.url().includes('embed=1'));
    await frame.waitForSelector('#posicao');
    assert.equal(await frame.textContent('#posicao'), `evento ${de} de ${ate}`);
    // The iframe ends up as tall as its content (plus its 1 px borders):
    // nothing to scroll inside.
    await p.waitForFunction(() => document.getElementById('replay').getBoundingClientRect().height
      === window.alturas[window.alturas.length - 1].casuloAltura + 2);
    assert.ok(await frame.evaluate(() => document.documentElement.scrollHeight <= innerHeight + 1), 'sem rolagem vertical dentro do quadro');
    await p.screenshot({ path: join(SHOTS, '20-embutido-iframe-900.png'), fullPage: true });

    // A click inside the frame gives it the keys.
    const count = await p.evaluate(() => window.alturas.length);
    await frame.click('.painel.namespaces h2');
    await p.keyboard.press('ArrowRight');
    assert.equal(await frame.textContent('#posicao'), `evento ${de + 1} de ${ate}`);
    // Every render posts the height again.
    await p.waitForFunction((n) => window.alturas.length > n, count);

    // Narrower (~600 px): the panels stack, taller; still no sideways scroll.
    const wide = await p.evaluate(() => window.alturas[window.alturas.length - 1].casuloAltura);
    await p.$eval('#replay', (f) => { f.style.width = '600px'; });
    await p.waitForFunction((h) => window.alturas[window.alturas.length - 1].casuloAltura !== h, wide);
    await p.waitForFunction(() => document.getElementById('replay').getBoundingClientRect().height
      === window.alturas[window.alturas.length - 1].casuloAltura + 2);
    assert.ok(!(await frame.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth)), 'sem rolagem lateral em 600 px');
    await p.screenshot({ path: join(SHOTS, '21-embutido-iframe-600.png'), fullPage: true });
  } finally {
    await p.close();
  }
});

/** Events of a recorded course example (`book/exemplos/NAME`), which the
 * test server serves with the built book at `curso/exemplos/NAME`. */
function courseEvents(name) {
  const file = new URL(`../../book/exemplos/${name}`, import.meta.url);
  return readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
}

test('segurança: o que o root do contêiner pode e não pode, evento a evento (cenário do capítulo 11)', async () => {
  const name = '11-o-que-o-conteiner-ve.trace.jsonl';
  const ev = courseEvents(name);
  const caps = ev.find((e) => e.kind === 'security.capabilities');
  const seccomp = ev.find((e) => e.kind === 'security.seccomp');
  assert.ok(caps && seccomp && ev.some((e) => e.kind === 'security.no_new_privs'));
  const at = async (seq) => {
    await page.goto('about:blank');
    await page.goto(`${URL_BASE}?trace=curso/exemplos/${name}#evento=${seq}`);
    await page.waitForSelector('#seg-linhas');
  };
  const state = (id) => page.getAttribute(`#${id}`, 'data-estado');

  // Before the cut: the container's root still has everything; said in words.
  await at(caps.seq - 1);
  assert.equal(await state('seg-capabilities'), 'pendente');
  assert.equal(await state('seg-seccomp'), 'pendente');
  assert.match(await page.textContent('#seg-capabilities'), /ainda não.*todas as capabilities/s);
  assert.equal(await page.locator('#seg-mantidas').count(), 0);

  // At the cut: the kept set, each with its meaning, and the dropped set;
  // the row just applied is marked.
  await at(caps.seq);
  assert.equal(await state('seg-capabilities'), 'ativo');
  assert.match(await page.getAttribute('#seg-capabilities', 'class'), /\bnovo\b/);
  assert.equal(await state('seg-no-new-privs'), 'pendente');
  const kept = await page.$$eval('#seg-mantidas li', (li) => li.map((l) => l.textContent));
  assert.equal(kept.length, caps.kept.length);
  assert.ok(kept.some((t) => /CAP_CHOWN — mudar o dono/.test(t)), kept.join('\n'));
  assert.ok(kept.some((t) => /CAP_NET_BIND_SERVICE — abrir portas abaixo de 1024/.test(t)));
  assert.match(await page.textContent('#seg-capabilities .seg-resumo'), new RegExp(`Ficaram ${caps.kept.length} .*${caps.mask}.*${caps.dropped.length} saíram`));
  // The dropped list starts closed; opened, it says what was lost.
  assert.equal(await page.getAttribute('#seg-retiradas', 'open'), null);
  await page.click('#seg-retiradas summary');
  assert.match(await page.textContent('#seg-retiradas summary'), new RegExp(`Não pode mais \\(${caps.dropped.length} retiradas\\)`));
  assert.ok(await page.isVisible('#seg-retiradas li:has-text("CAP_SYS_ADMIN")'));
  assert.match(await page.textContent('#seg-retiradas'), /CAP_SYS_MODULE — carregar e remover módulos do kernel/);

  // At the filter: everything in force, examples of refused calls, the full list.
  await at(seccomp.seq);
  for (const id of ['seg-capabilities', 'seg-no-new-privs', 'seg-seccomp']) {
    assert.equal(await state(id), 'ativo', id);
  }
  if (seccomp.default_action === 'allow') {
    // A deny-list (recorded before the allow-list profile): the refused calls by name.
    assert.match(await page.textContent('#seg-seccomp .seg-resumo'),
      new RegExp(`${seccomp.blocked_count} chamadas são recusadas com errno\\(EPERM\\); todas as outras passam`));
    const examples = await page.textContent('#seg-recusadas-exemplos');
    assert.match(examples, /mount — montar um sistema de arquivos/);
    assert.match(examples, /init_module — carregar código no kernel/);
    assert.equal(await page.locator('#seg-recusadas li').count(), seccomp.blocked.length);
  } else {
    // The allow-list: where it came from, the counts, the stacked programs.
    assert.match(await page.textContent('#seg-seccomp .seg-resumo'),
      new RegExp(`Lista do que pode \\(perfil padrão.*${seccomp.allowed_count} das ${seccomp.rule_count} chamadas.*recusada com ${seccomp.default_action.replace(/[()]/g, '\\$&')}.*${seccomp.filters} programas BPF empilhados`));
  }
  // And, honestly: PID 1 is the host's uid 0 (no user namespace yet).
  assert.equal(await state('seg-usuario'), 'ausente');
  assert.match(await page.textContent('#seg-usuario .seg-cabeca'), /User namespace\s*ausente/);
  assert.match(await page.textContent('#seg-usuario'), /é root, uid 0.*uid 0 do contêiner = uid 0 do host/s);
  assert.equal(await page.locator('#seg-privilegiado').count(), 0, 'sem --privileged, sem aviso');
  await shot('30-seguranca');

  // The book's embed: paineis=seguranca,eventos, as chapter 11 asks for it.
  const p = await framePage(900, 700);
  try {
    await p.goto(`${URL_BASE}?trace=curso/exemplos/${name}&embed=1&paineis=seguranca,eventos&de=${caps.seq}&ate=${seccomp.seq}`);
    await p.waitForSelector('#seg-linhas');
    assert.deepEqual(await panelsShown(p), ['seguranca', 'eventos']);
    assert.equal(await p.getAttribute('#seg-capabilities', 'data-estado'), 'ativo');
    assert.equal(await p.getAttribute('#seg-seccomp', 'data-estado'), 'pendente');
    await p.keyboard.press('End');
    await p.waitForFunction(() => document.querySelector('#seg-seccomp')?.dataset.estado === 'ativo');
    assert.ok(!(await sideScroll(p)), 'segurança sem rolagem lateral em 900 px');
    await p.screenshot({ path: join(SHOTS, '31-embutido-seguranca-900.png'), fullPage: true });
    // A trace from before the security work: the panel asked for says so.
    await p.goto(embedUrl('run-echo.trace.jsonl', '&paineis=seguranca'));
    await p.waitForSelector('#seg-vazio');
  } finally {
    await p.close();
  }
  // The full app shows no Segurança panel for such a trace.
  await open('run-echo.trace.jsonl', 3);
  assert.equal(await page.locator('section.seguranca').count(), 0);
});

test('namespaces: um casulo exec entra nos namespaces do PID 1 e aparece como processo do contêiner', async () => {
  // A real `casulo exec` into a running container (see the fixtures' README).
  const name = 'run-exec.trace.jsonl';
  const ev = events(name);
  const joins = ev.filter((e) => e.kind === 'namespace.join');
  assert.equal(joins.length, 6);
  const child = ev.find((e) => e.kind === 'process.clone' && e.pid === joins[0].pid).child_pid;
  const exec = ev.find((e) => e.kind === 'process.exec' && e.pid === child);
  // Before the first setns: only the init is in the container.
  await open(name, joins[0].seq - 1);
  assert.equal(await page.locator('#processos-exec').count(), 0);
  // casulo joined only the pid namespace: not yet a process of the container.
  await open(name, joins[0].seq);
  assert.equal(await page.locator('#processos-exec').count(), 0);
  // Once the child ran its command: listed, with the init's namespaces.
  await open(name, exec.seq);
  const row = await page.textContent('#processos-exec');
  assert.match(row, new RegExp(`sh -c hostname.*PID ${child} no host.*os mesmos namespaces do PID 1.*rodando`, 's'));
  assert.match(await page.textContent('.outros-processos'), /o casulo exec: entrou só no namespace pid/);
  await shot('34-exec-namespaces');
  await open(name, lastSeq(ev));
  assert.match(await page.textContent('#processos-exec'), /terminou com código 0/);
});

test('segurança: --privileged avisa em palavras vermelhas, e cada trava diz "ausente"', async () => {
  // A real `casulo run --privileged` (see the fixtures' README).
  const name = 'run-privileged.trace.jsonl';
  const ev = events(name);
  const caps = ev.find((e) => e.kind === 'security.capabilities');
  assert.ok(caps.privileged && !ev.some((e) => e.kind === 'security.no_new_privs'));
  const fds = ev.find((e) => e.kind === 'process.fds_closed');
  // The warning is there from the first event: the choice came before the run.
  await open(name, ev[0].seq);
  await page.waitForSelector('#seg-privilegiado');
  await open(name, fds.seq);
  const warning = await page.textContent('#seg-privilegiado');
  assert.match(warning, /PERIGO: --privileged: as travas estão desligadas.*todas as capabilities.*nenhum filtro seccomp.*disco do host/s);
  // Red: the warning's colour is the error colour, not the text's.
  const colour = await page.$eval('#seg-privilegiado', (el) => getComputedStyle(el).color);
  assert.equal(colour, 'rgb(176, 0, 32)');
  const state = (id) => page.getAttribute(`#${id}`, 'data-estado');
  for (const id of ['seg-capabilities', 'seg-no-new-privs', 'seg-seccomp', 'seg-dispositivos']) {
    assert.equal(await state(id), 'ausente', id);
  }
  assert.match(await page.textContent('#seg-capabilities .seg-resumo'), new RegExp(`--privileged: nenhum corte. Ficaram todas as ${caps.kept.length} capabilities`));
  assert.match(await page.textContent('#seg-seccomp .seg-resumo'), /Sem filtro \(seccomp=unconfined\).*Seccomp: 0/);
  assert.match(await page.textContent('#seg-dispositivos .seg-resumo'), /^Todos: --privileged libera todos os dispositivos/);
  // What stays: the session, the closed descriptors, the non-dumpable init.
  assert.equal(await state('seg-sessao'), 'ativo');
  assert.match(await page.textContent('#seg-sessao'), new RegExp(`Do descritor ${fds.first} em diante.*\\(${fds.inherited.join(', ')}\\)`, 's'));
  assert.equal(await state('seg-dumpable'), 'ativo');
  await shot('32-seguranca-privilegiado');
  // At the book's height, in words, with no sideways scroll.
  const p = await framePage(900, 900);
  try {
    await p.goto(embedUrl(name, '&paineis=seguranca'));
    await p.waitForSelector('#seg-privilegiado');
    await p.keyboard.press('End');
    await p.waitForFunction(() => document.querySelector('#seg-capabilities')?.dataset.estado === 'ausente');
    assert.ok(!(await sideScroll(p)), 'segurança sem rolagem lateral em 900 px');
    await p.screenshot({ path: join(SHOTS, '33-embutido-seguranca-privilegiado-900.png') });
  } finally {
    await p.close();
  }
});

test('segurança: com --userns, os mapas de uid e gid e as camadas idmapped (cenário do capítulo 11)', async () => {
  const name = '11-userns.trace.jsonl';
  const ev = courseEvents(name);
  const [uid, gid] = ['uid', 'gid'].map((m) => ev.find((e) => e.kind === 'namespace.user' && e.map === m));
  const idmaps = ev.filter((e) => e.kind === 'mount.idmap');
  const exec = ev.find((e) => e.kind === 'process.exec');
  assert.ok(uid && gid && idmaps.length > 0 && exec);
  const text = (r) => `${r.inside} → ${r.outside}, ${r.count} ids`;
  const p = await framePage(900, 900);
  try {
    // Before the maps: the namespace is there, the ids not yet.
    await p.goto(`${URL_BASE}?trace=curso/exemplos/${name}&embed=1&paineis=seguranca&de=${uid.seq - 1}`);
    await p.waitForSelector('#seg-usuario');
    assert.equal(await p.getAttribute('#seg-usuario', 'data-estado'), 'pendente');
    await p.goto('about:blank');
    await p.goto(`${URL_BASE}?trace=curso/exemplos/${name}&embed=1&paineis=seguranca&de=${exec.seq}`);
    await p.waitForSelector('#seg-idmapped');
    assert.equal(await p.getAttribute('#seg-usuario', 'data-estado'), 'ativo');
    const row = await p.textContent('#seg-usuario');
    assert.ok(row.includes(`uid: ${text(uid.ranges[0])}; gid: ${text(gid.ranges[0])}`), row);
    assert.ok(row.includes(`é o uid ${uid.ranges[0].outside} do host`), row);
    assert.equal(await p.locator('#seg-idmapped li').count(), idmaps.length);
    const layer = idmaps[0].source.split('/').pop().slice(0, 12);
    assert.match(await p.textContent('#seg-idmapped'), new RegExp(`${layer} — o dono 0 do disco aparece como root`));
    assert.equal(await p.locator('#seg-privilegiado').count(), 0);
    assert.ok(!(await sideScroll(p)));
    await p.screenshot({ path: join(SHOTS, '34-embutido-seguranca-userns-900.png') });
    // The --cap-add example of the same chapter: what the command line changed.
    const cap = courseEvents('11-privilegios.trace.jsonl').find((e) => e.kind === 'security.capabilities');
    await p.goto(`${URL_BASE}?trace=curso/exemplos/11-privilegios.trace.jsonl&embed=1&paineis=seguranca&de=${cap.seq}`);
    await p.waitForSelector('#seg-mudadas');
    for (const c of cap.added) {
      assert.match(await p.textContent('#seg-mudadas'), new RegExp(`\\+ ${c} — --cap-add:`));
    }
    assert.match(await p.textContent('#seg-capabilities .seg-resumo'), new RegExp(`--cap-add deu ${cap.added.join(', ')}`));
    await p.screenshot({ path: join(SHOTS, '35-embutido-seguranca-cap-add-900.png') });
  } finally {
    await p.close();
  }
});

test('registry: o painel Registry do pull do capítulo 7 mostra 1 camada baixada e 4 que já estavam aqui', async () => {
  const p = await framePage(900, 700);
  try {
    await p.goto(`${URL_BASE}?trace=curso/exemplos/07-registry.trace.jsonl&embed=1&paineis=registry,eventos`);
    await p.waitForSelector('section.registry');
    assert.deepEqual(await panelsShown(p), ['registry', 'eventos']);
    await p.keyboard.press('End');
    await p.waitForSelector('#registry-resumo');
    assert.match(await p.textContent('#registry-resumo'), /1 de 5 camadas baixadas, 4 já estavam aqui/);
    assert.equal(await p.locator('.camadas-registry tbody tr.presente').count(), 4);
    assert.equal(await p.locator('.camadas-registry tbody tr.viajou').count(), 1);
    assert.match(await p.textContent('.camadas-registry tbody tr.viajou'), /baixada/);
    assert.ok(!(await sideScroll(p)), 'registry sem rolagem lateral em 900 px');
  } finally {
    await p.close();
  }
});

test('rootless: o cabeçalho diz Rootless com o mapa, o painel de namespaces mostra o mapa do casulo e a rede mostra o pasta', async () => {
  const name = 'run-rootless.trace.jsonl';
  const header = JSON.parse(readFileSync(join(TRACES, name), 'utf8').split('\n')[0]);
  assert.equal(header.rootless, true);
  const ev = events(name);
  const pasta = ev.find((e) => e.kind === 'net.pasta');
  assert.ok(pasta);
  await open(name, pasta.seq + 1);
  const [own, sub] = header.uid_map;
  const text = (r) => `${r.inside} → ${r.outside}, ${r.count} ids`;
  assert.match(await page.textContent('#rootless'), new RegExp(`Rootless: sem root; uid ${text(own)}; ${text(sub)}`));
  const ns = await page.textContent('#ns-rootless');
  assert.ok(ns.includes(`Mapa de uids: ${text(own)}; ${text(sub)}`), ns);
  assert.ok(ns.includes(`PID ${ev[0].pid} no host`), ns);
  assert.match(await page.textContent('#rede-pasta'), new RegExp(`pasta · PID ${pasta.helper_pid}`));
  assert.equal(await page.locator('#rede-sem-bridge').count(), 0);
  // No limits, no delegated cgroup: the cgroups panel says so plainly.
  assert.match(await page.textContent('#cg-rootless'), /Sem limites: rootless sem cgroup delegado/);
  assert.equal(await page.locator('#cg-vazio').count(), 0);
  await shot('36-rootless');
});
