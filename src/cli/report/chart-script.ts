// The report's chart drawing, as the text of a script inlined in the page: line charts in SVG,
// with axes, ticks and a legend, from the records embedded in the page. No library, no network.
export const CHART_SCRIPT = String.raw`
(function () {
  var records = JSON.parse(document.getElementById('run-data').textContent).records;
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed'];
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function fmt(v) {
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(1) : String(+v.toPrecision(3));
  }
  function draw(figure) {
    var keys = figure.getAttribute('data-keys').split(',');
    var series = keys.map(function (key) {
      return { key: key, points: records.filter(function (r) { return typeof r[key] === 'number' && isFinite(r[key]); })
        .map(function (r) { return [r.step, r[key]]; }) };
    }).filter(function (s) { return s.points.length > 0; });
    var holder = figure.querySelector('.chart');
    if (series.length === 0) { holder.textContent = 'no data recorded'; figure.setAttribute('data-rendered', 'empty'); return; }
    var all = [].concat.apply([], series.map(function (s) { return s.points; }));
    var xs = all.map(function (p) { return p[0]; }), ys = all.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
    var W = 560, H = 260, L = 64, R = 16, T = 16, B = 36;
    var sx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    var sy = function (y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img' }, holder);
    el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#888' }, svg);
    el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#888' }, svg);
    for (var i = 0; i <= 4; i++) {
      var yv = y0 + (y1 - y0) * i / 4, xv = x0 + (x1 - x0) * i / 4;
      el('line', { x1: L, y1: sy(yv), x2: W - R, y2: sy(yv), stroke: '#eee' }, svg);
      el('text', { x: L - 6, y: sy(yv) + 4, 'text-anchor': 'end', 'font-size': 11 }, svg).textContent = fmt(yv);
      el('text', { x: sx(xv), y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11 }, svg).textContent = fmt(Math.round(xv));
    }
    el('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle', 'font-size': 11 }, svg).textContent = 'step';
    series.forEach(function (s, n) {
      var color = COLORS[n % COLORS.length];
      var d = s.points.map(function (p, j) { return (j ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(p[1]).toFixed(1); }).join(' ');
      el('path', { d: d, fill: 'none', stroke: color, 'stroke-width': 2, 'class': 'series', 'data-key': s.key }, svg);
      s.points.forEach(function (p) { el('circle', { cx: sx(p[0]), cy: sy(p[1]), r: 2.5, fill: color }, svg); });
      el('text', { x: W - R - 4, y: T + 12 + 14 * n, 'text-anchor': 'end', 'font-size': 12, fill: color }, svg).textContent = s.key;
    });
    figure.setAttribute('data-rendered', String(series.length));
  }
  Array.prototype.forEach.call(document.querySelectorAll('figure[data-keys]'), draw);
  document.body.setAttribute('data-charts', 'done');
})();
`;
