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
