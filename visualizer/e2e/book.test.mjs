// Browser tests of the course: every page of the built book (book/build,
// served at /curso/ by `cargo xtask test`) opens in Debian's chromium
// without JavaScript errors, and every embedded replay loads the real
// recorded trace, starts at its first event and steps with the keyboard.
// Screenshots of each page go to CASULO_SCREENSHOTS/curso-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const URL_BASE = process.env.CASULO_VIS_URL ?? 'http://127.0.0.1:8000/';
const SHOTS = process.env.CASULO_SCREENSHOTS ?? 'target/visualizer-tests/screenshots';
const CHROMIUM = process.env.CASULO_CHROMIUM ?? '/usr/bin/chromium';
const COURSE = new URL('curso/', URL_BASE).href;

let browser;
let page;
const pageErrors = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // --no-proxy-server: no proxy auto-detection, which stalls the first
    // navigation for ~30 s on a machine with no network.
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--no-proxy-server',
      '--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable'],
  });
  page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  // The first navigation of a fresh browser on a loaded 2-core machine can
  // be slow (seen in CI-like runs): a generous cap, not a speed check.
  page.setDefaultNavigationTimeout(120000);
  page.setDefaultTimeout(60000);
  await page.goto('about:blank');
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
});

after(async () => {
  await browser?.close();
  assert.deepEqual(pageErrors, [], 'páginas do curso tiveram erros de JavaScript');
});

/**
 * Opens `url`. A fresh chromium here sometimes never finishes its first
 * navigation to the test server (seen once in several runs, on a loaded
 * 2-core machine; the same page then opens at once): up to three tries of
 * 30 s each, so that stall is not taken for a broken page.
 */
async function goto(url) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 30000 });
    } catch (e) {
      if (attempt === 3 || !/Timeout/.test(String(e))) throw e;
      await page.goto('about:blank');
    }
  }
}

/** The chapters, in the order of the book's table of contents. */
async function chapters() {
  await goto(COURSE);
  // mdBook fills the sidebar from a script (toc.js).
  await page.waitForSelector('a[href$="02-namespaces.html"]', { state: 'attached' });
  const links = await page.$$eval('.sidebar a[href$=".html"], mdbook-sidebar-scrollbox a[href$=".html"]',
    (as) => as.map((a) => a.href));
  return [...new Set(links)].filter((h) => h.startsWith(COURSE));
}

test('o curso abre em português, com o sumário e a busca', async () => {
  await goto(COURSE);
  assert.equal(await page.getAttribute('html', 'lang'), 'pt-BR');
  const pages = await chapters();
  assert.ok(pages.length >= 14, `o sumário tem só ${pages.length} páginas`);
  assert.ok(await page.$('#mdbook-search-toggle, #search-toggle'), 'sem o botão de busca');
});

test('a busca acha palavras com e sem acento e fala português', async () => {
  // Students often type without accents: `memoria` finds `memória` too.
  for (const [query, chapter] of [['contêiner', 'o-que-e-um-conteiner'], ['memória', 'cgroups'],
    ['memoria', 'cgroups'], ['configuracao', 'imagens-e-conteineres'], ['namespaces', 'namespaces']]) {
    await goto(COURSE);
    await page.waitForLoadState('load');
    await page.keyboard.press('s');
    await page.waitForSelector('#mdbook-searchbar', { state: 'visible' });
    assert.equal(await page.getAttribute('#mdbook-searchbar', 'placeholder'), 'Buscar no curso…');
    // Typed key by key: mdBook searches on keyup.
    await page.type('#mdbook-searchbar', query, { delay: 20 });
    await page.waitForFunction(() => /resultados? para/.test(
      document.querySelector('#mdbook-searchresults-header').textContent));
    const links = await page.$$eval('#mdbook-searchresults li a', (as) => as.map((a) => a.href));
    assert.ok(links.some((h) => h.includes(chapter)), `buscar «${query}» não achou o capítulo ${chapter}: ${links}`);
  }
});

test('cada capítulo abre, e cada replay embutido carrega e avança com o teclado', async () => {
  let replays = 0;
  for (const href of await chapters()) {
    await goto(href);
    await page.waitForSelector('main h1');
    const name = href.slice(COURSE.length).replace(/\.html$/, '').replace(/\//g, '-');
    const frames = await page.$$('.casulo-replay iframe');
    for (const [i, handle] of frames.entries()) {
      await handle.scrollIntoViewIfNeeded();
      const src = await handle.getAttribute('src');
      const params = new URL(src, href).searchParams;
      const [de, ate] = [Number(params.get('de')), Number(params.get('ate'))];
      const frame = await handle.contentFrame();
      assert.ok(frame, `${href}: o replay ${i + 1} não tem conteúdo`);
      await frame.waitForSelector('#posicao', { timeout: 20000 }).catch(async () => {
        const err = await frame.textContent('body');
        assert.fail(`${href}: o replay ${i + 1} (${src}) não carregou: ${err.slice(0, 300)}`);
      });
      const at = await frame.textContent('#posicao');
      assert.match(at, new RegExp(`evento ${de}\\b`), `${href}: o replay ${i + 1} não começa no evento ${de}: ${at}`);
      await frame.click('#posicao');
      await page.keyboard.press('ArrowRight');
      if (ate > de) {
        await frame.waitForFunction((d) => !new RegExp(`evento ${d}\\b`).test(
          document.querySelector('#posicao').textContent), de);
      }
      // The book sized the frame from the height the replay posted.
      const height = await handle.evaluate((f) => f.getBoundingClientRect().height);
      assert.ok(height > 150, `${href}: o replay ${i + 1} ficou com ${height}px de altura`);
      replays += 1;
    }
    await page.screenshot({ path: join(SHOTS, `curso-${name}.png`), fullPage: true });
  }
  assert.ok(replays > 0, 'nenhum replay embutido no curso');
});
