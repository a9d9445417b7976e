// tgload's HTML report: axes, values on hover and zoom for the charts the page already holds as inline SVG.
// It reads the JSON in #tgload-data and makes no request. The lines are drawn in data coordinates inside each
// chart's nested <svg class="area">, so a zoom only changes that element's viewBox and redraws the axes. Drag
// across a chart to zoom in (the charts over time zoom together); double-click to zoom out.
(function () {
  'use strict';
  // The SVG namespace is a name, not an address: nothing is fetched from it.
  var SVG_NS = 'http' + '://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('tgload-data').textContent);
  var f = data.frame;
  var plotW = f.width - f.left - f.right;
  var plotH = f.height - f.top - f.bottom;
  var TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  var views = [];

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function fmt(v) {
    if (v === null || v === undefined) return '-';
    if (Math.abs(v) >= 1000) return String(Math.round(v));
    return String(Number(v.toPrecision(4)));
  }

  function niceStep(range, count) {
    var raw = range / count;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var n = raw / mag;
    return (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * mag;
  }

  function ticks(lo, hi, step) {
    var out = [];
    var first = Math.ceil(lo / step - 1e-9);
    for (var i = first; i * step <= hi + step * 1e-9 && out.length < 50; i++) out.push(i * step);
    return out;
  }

  function timeStep(range) {
    for (var i = 0; i < TIME_STEPS.length; i++) if (TIME_STEPS[i] >= range / 7) return TIME_STEPS[i];
    return niceStep(range / 86400, 7) * 86400;
  }

  function timeLabel(t, step, hi) {
    if (step < 60 && hi < 180) return fmt(t) + ' s';
    var s = Math.round(t), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    return h > 0 ? h + ':' + two(m) + ':' + two(sec) : m + ':' + two(sec);
  }

  function percentile(x) { return 100 * (1 - Math.pow(10, -x)); }

  function percentileLabel(x) {
    var decimals = Math.max(0, Math.ceil(x - 1e-9) - 2);
    return percentile(x).toFixed(decimals) + '%';
  }

  function xTicks(view) {
    var lo = view.x0, hi = view.x1;
    if (view.spec.axis === 'percentile') {
      var marks = [0, Math.log10(2)];
      for (var d = 1; d <= Math.ceil(hi); d++) marks.push(d);
      var inside = marks.filter(function (x) { return x >= lo - 1e-9 && x <= hi + 1e-9; });
      if (inside.length < 3) inside = ticks(lo, hi, niceStep(hi - lo, 6));
      return inside.map(function (x) { return [x, percentileLabel(x)]; });
    }
    var step = timeStep(hi - lo);
    return ticks(lo, hi, step).map(function (t) { return [t, timeLabel(t, step, hi)]; });
  }

  function visibleMax(view) {
    var max = 0;
    view.spec.series.forEach(function (s) {
      for (var i = 0; i < s.x.length; i++) {
        if (s.x[i] >= view.x0 && s.x[i] <= view.x1 && s.y[i] !== null && s.y[i] > max) max = s.y[i];
      }
    });
    return max > 0 ? max * 1.05 : 1;
  }

  function px(view, x) { return f.left + (x - view.x0) / (view.x1 - view.x0) * plotW; }

  function draw(view) {
    var y1 = visibleMax(view);
    view.area.setAttribute('viewBox', [view.x0, -y1, view.x1 - view.x0, y1].join(' '));
    var grid = view.svg.querySelector('.grid'), xAxis = view.svg.querySelector('.x-axis');
    var yAxis = view.svg.querySelector('.y-axis');
    [grid, xAxis, yAxis].forEach(function (g) { while (g.firstChild) g.removeChild(g.firstChild); });
    var bottom = f.top + plotH, count = 0;
    ticks(0, y1, niceStep(y1, 5)).forEach(function (v) {
      var y = bottom - v / y1 * plotH;
      el('line', { x1: f.left, x2: f.left + plotW, y1: y, y2: y }, grid);
      el('text', { x: f.left - 6, y: y + 4, 'text-anchor': 'end' }, yAxis).textContent = fmt(v);
      count++;
    });
    xTicks(view).forEach(function (tick) {
      var x = px(view, tick[0]);
      el('line', { x1: x, x2: x, y1: bottom, y2: bottom + 5 }, xAxis);
      el('text', { x: x, y: bottom + 18, 'text-anchor': 'middle' }, xAxis).textContent = tick[1];
      count++;
    });
    el('line', { x1: f.left, x2: f.left + plotW, y1: bottom, y2: bottom }, xAxis);
    el('line', { x1: f.left, x2: f.left, y1: f.top, y2: bottom }, yAxis);
    view.svg.querySelectorAll('.mark-label').forEach(function (label) {
      var t = Number(label.getAttribute('data-t'));
      var inside = t >= view.x0 && t < view.x1;
      label.setAttribute('visibility', inside ? 'visible' : 'hidden');
      if (inside) label.setAttribute('x', px(view, t) + 3);
    });
    view.fig.setAttribute('data-drawn', 'true');
    view.fig.setAttribute('data-ticks', String(count));
    view.fig.setAttribute('data-range', fmt(view.x0) + '..' + fmt(view.x1));
  }

  function pointer(view, event) {
    var r = view.svg.getBoundingClientRect();
    var sx = (event.clientX - r.left) * f.width / r.width;
    sx = Math.min(Math.max(sx, f.left), f.left + plotW);
    return { px: sx, x: view.x0 + (sx - f.left) / plotW * (view.x1 - view.x0) };
  }

  function nearest(xs, x) {
    var lo = 0, hi = xs.length - 1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (xs[mid] < x) lo = mid; else hi = mid;
    }
    return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
  }

  function line(tip, text, className) {
    var row = document.createElement('div');
    if (className) row.className = className;
    row.textContent = text;
    tip.appendChild(row);
    return row;
  }

  function hover(view, event) {
    var at = pointer(view, event), spec = view.spec, tip = view.tip;
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    var where = spec.axis === 'percentile' ? 'p = ' + percentileLabel(at.x) : 't = ' + fmt(at.x) + ' s';
    line(tip, where, 'at');
    spec.series.forEach(function (s, i) {
      if (!s.x.length) return;
      var k = nearest(s.x, at.x);
      line(tip, s.label + ': ' + fmt(s.y[k]) + ' ' + spec.unit, 'key s' + (i % 6));
    });
    if (spec.axis === 'time') {
      var near = (view.x1 - view.x0) / 100;
      data.windows.forEach(function (w) { if (at.x >= w.start && at.x <= w.end) line(tip, 'fault window: ' + w.label); });
      data.marks.forEach(function (m) { if (Math.abs(m.t - at.x) <= near) line(tip, m.label + ' at ' + fmt(m.t) + ' s'); });
    }
    view.cursor.setAttribute('x1', at.px);
    view.cursor.setAttribute('x2', at.px);
    view.cursor.setAttribute('visibility', 'visible');
    tip.hidden = false;
    var box = view.fig.getBoundingClientRect();
    var left = event.clientX - box.left + 14;
    if (left + tip.offsetWidth > box.width) left = Math.max(0, event.clientX - box.left - tip.offsetWidth - 14);
    tip.style.left = left + 'px';
    tip.style.top = (event.clientY - box.top + 14) + 'px';
  }

  function group(view) { return view.spec.axis === 'time' ? 'time' : view.spec.id; }

  function zoom(view, a, b) {
    views.forEach(function (v) {
      if (group(v) !== group(view)) return;
      v.x0 = a;
      v.x1 = b;
      draw(v);
    });
  }

  function reset(view) {
    views.forEach(function (v) {
      if (group(v) !== group(view)) return;
      v.x0 = v.full[0];
      v.x1 = v.full[1];
      draw(v);
    });
  }

  function listen(view) {
    var drag = null;
    view.overlay.addEventListener('mousemove', function (e) { hover(view, e); });
    view.overlay.addEventListener('mouseleave', function () {
      view.tip.hidden = true;
      view.cursor.setAttribute('visibility', 'hidden');
    });
    view.overlay.addEventListener('mousedown', function (e) { drag = pointer(view, e); e.preventDefault(); });
    window.addEventListener('mousemove', function (e) {
      if (!drag) return;
      var at = pointer(view, e);
      view.sel.setAttribute('x', Math.min(at.px, drag.px));
      view.sel.setAttribute('width', Math.abs(at.px - drag.px));
      view.sel.setAttribute('visibility', 'visible');
    });
    window.addEventListener('mouseup', function (e) {
      if (!drag) return;
      var at = pointer(view, e), from = drag;
      drag = null;
      view.sel.setAttribute('visibility', 'hidden');
      if (Math.abs(at.px - from.px) > 4) zoom(view, Math.min(at.x, from.x), Math.max(at.x, from.x));
    });
    view.overlay.addEventListener('dblclick', function () { reset(view); });
  }

  function fullRange(spec) {
    var lo = Infinity, hi = -Infinity;
    spec.series.forEach(function (s) {
      if (!s.x.length) return;
      lo = Math.min(lo, s.x[0]);
      hi = Math.max(hi, s.x[s.x.length - 1]);
    });
    if (lo > hi) return [0, 1];
    if (spec.axis === 'time') lo = Math.min(lo, 0);
    return lo === hi ? [lo, lo + 1] : [lo, hi];
  }

  data.plots.forEach(function (spec) {
    var fig = document.getElementById('plot-' + spec.id);
    if (!fig) return;
    var svg = fig.querySelector('svg.chart');
    var full = fullRange(spec);
    var view = {
      fig: fig, spec: spec, svg: svg, area: svg.querySelector('svg.area'), overlay: svg.querySelector('.overlay'),
      cursor: svg.querySelector('.cursor'), sel: svg.querySelector('.selection'), tip: fig.querySelector('.tooltip'),
      full: full, x0: full[0], x1: full[1]
    };
    views.push(view);
    draw(view);
    listen(view);
  });
  document.body.setAttribute('data-drawn', String(views.length));
})();
