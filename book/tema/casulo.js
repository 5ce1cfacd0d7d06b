// The embedded replays (the visualizer in embed mode, in an iframe) say
// how tall they are; each iframe takes that height, so no inner scroll.
window.addEventListener('message', function (event) {
  var height = event.data && event.data.casuloAltura;
  if (typeof height !== 'number' || height <= 0) return;
  document.querySelectorAll('.casulo-replay iframe').forEach(function (frame) {
    if (frame.contentWindow === event.source) {
      frame.style.height = Math.ceil(Math.min(height, 2000)) + 'px';
    }
  });
});

// mdBook's own interface speaks English; the course speaks Portuguese.
(function () {
  var words = {
    'Search this book ...': 'Buscar no curso…',
    'Change theme': 'Mudar o tema',
    'Next chapter': 'Próximo capítulo',
    'Previous chapter': 'Capítulo anterior',
    'Page navigation': 'Navegação',
    'Print this book': 'Imprimir o curso',
    'Table of contents': 'Sumário',
    'Themes': 'Temas',
    'Toggle Searchbar': 'Mostrar a busca',
    'Toggle Table of Contents': 'Mostrar o sumário',
    'Search (`/`)': 'Buscar (tecla / ou s)',
  };
  function translate() {
    ['placeholder', 'title', 'aria-label'].forEach(function (attr) {
      document.querySelectorAll('[' + attr + ']').forEach(function (el) {
        var pt = words[el.getAttribute(attr)];
        if (pt) el.setAttribute(attr, pt);
      });
    });
  }
  // "12 search results for 'x':" → "12 resultados para «x»:"
  function results(header) {
    var t = header.textContent;
    var m = t.match(/^(\d+) search results? for '(.*)':$/);
    if (m) {
      header.textContent = m[1] + (m[1] === '1' ? ' resultado' : ' resultados') + ' para «' + m[2] + '»:';
      return;
    }
    m = t.match(/^No search results for '(.*)'\.$/);
    if (m) header.textContent = 'Nada encontrado para «' + m[1] + '».';
  }
  function start() {
    translate();
    var header = document.getElementById('mdbook-searchresults-header');
    if (header) {
      new MutationObserver(function () { results(header); })
        .observe(header, { childList: true, characterData: true, subtree: true });
    }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
