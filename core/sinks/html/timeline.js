/*
 * socktrace HTML report, second script: the timeline. One canvas row per
 * socket, grouped by process, its lifetime as a bar and its events as
 * marks coloured by outcome; the wheel zooms, dragging pans, hovering a
 * mark shows its fields and clicking it selects its socket (report.js's
 * window.stPage). Trace values are drawn as canvas text or put in the
 * tooltip with textContent, never parsed as markup.
 */
(function () {
  'use strict';

  var P = window.stPage;
  var data = P.data;
  var $ = P.$;
  var el = P.el;
  var num = P.num;
  var dur = P.dur;
  var utc = P.utc;
  var socketLabel = P.socketLabel;
  var statusWords = P.statusWords;
  var state = P.state;
  var COLORS = {
    ok: '#4f7cac', warn: '#bcbd22', abort: '#e07b00', reset: '#a21caf', fail: '#d62728',
    lost: '#111827'
  };


  var canvas = $('tl');
  var ctx = canvas.getContext('2d');
  var scroller = $('tl-scroll');
  var AXIS = 44;
  var ROW = 18;
  var GROUP = 22;
  var rows = [];
  var height = 0;
  data.groups.forEach(function (g) {
    rows.push({ type: 'group', g: g, y: height, h: GROUP });
    height += GROUP;
    g.sockets.forEach(function (s) {
      s.row = { type: 'sock', g: g, s: s, y: height, h: ROW };
      rows.push(s.row);
      height += ROW;
    });
    if (g.hidden) {
      rows.push({ type: 'hidden', g: g, y: height, h: ROW });
      height += ROW;
    }
  });

  /* The whole trace, and the losses that reach outside it. */
  var lo = 0;
  var hi = data.span_ns;
  data.losses.forEach(function (l) {
    lo = Math.min(lo, l.t0);
    hi = Math.max(hi, l.t1);
  });
  var span = Math.max(hi - lo, 1000);
  var full = { t0: lo - span * 0.02, t1: lo + span * 1.02 };
  var view = { t0: full.t0, t1: full.t1 };
  var W = 0;
  var H = 0;
  var labelW = 300;
  var marks = [];

  function plotW() { return Math.max(50, W - labelW - 12); }
  function xOf(t) { return labelW + (t - view.t0) / (view.t1 - view.t0) * plotW(); }
  function tOf(x) { return view.t0 + (x - labelW) / plotW() * (view.t1 - view.t0); }

  function layout() {
    W = scroller.clientWidth;
    labelW = Math.min(340, Math.max(160, Math.floor(W * 0.28)));
    $('tl-inner').style.height = (AXIS + height) + 'px';
    scroller.style.height = Math.min(620, AXIS + height + 2) + 'px';
    H = scroller.clientHeight;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    canvas.style.width = W + 'px';
    canvas.style.height = H + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  /* The smallest 1-2-5 step that leaves minPx between ticks. */
  function niceStep(range, px, minPx) {
    var target = range * minPx / Math.max(px, 1);
    var p = Math.pow(10, Math.floor(Math.log10(Math.max(target, 1))));
    var m = target / p;
    return Math.max(1, (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p);
  }

  function clipText(text, x, y, maxW) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, y - 14, maxW, 20);
    ctx.clip();
    ctx.fillText(text, x, y);
    ctx.restore();
  }

  function drawAxis() {
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, W, AXIS);
    ctx.strokeStyle = '#d9dee7';
    ctx.beginPath();
    ctx.moveTo(0, AXIS - 0.5);
    ctx.lineTo(W, AXIS - 0.5);
    ctx.stroke();
    ctx.font = '11px system-ui, sans-serif';
    var range = view.t1 - view.t0;
    var digits = range >= 1e10 ? 0 : range >= 1e7 ? 3 : range >= 1e4 ? 6 : 9;
    var minPx = ctx.measureText(utc(view.t0 > 0 ? view.t0 : 0, digits)).width + 24;
    var step = niceStep(range, plotW(), minPx);
    ctx.fillStyle = '#5d6675';
    ctx.fillText('from start', 8, 17);
    ctx.fillText('UTC ' + P.utcDate(Math.max(0, view.t0)), 8, 33);
    for (var t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      var x = xOf(t);
      if (x < labelW) continue;
      ctx.fillStyle = '#d9dee7';
      ctx.fillRect(Math.round(x), AXIS - 6, 1, 6);
      ctx.fillStyle = '#1d2330';
      ctx.fillText((t < 0 ? '-' : '+') + dur(Math.abs(t)), x + 3, 17);
      ctx.fillStyle = '#5d6675';
      ctx.fillText(utc(t, digits), x + 3, 33);
    }
  }

  function drawLosses() {
    data.losses.forEach(function (l) {
      var x0 = Math.max(labelW, xOf(l.t0));
      var x1 = Math.min(W, Math.max(xOf(l.t1), x0 + 3));
      if (x1 < labelW || x0 > W) return;
      ctx.fillStyle = 'rgba(17, 24, 39, 0.12)';
      ctx.fillRect(x0, AXIS, x1 - x0, H - AXIS);
    });
  }

  function drawSocket(r, y) {
    var s = r.s;
    if (s === state.selected) {
      ctx.fillStyle = '#fff3c4';
      ctx.fillRect(0, y, W, r.h);
    }
    ctx.fillStyle = '#1d2330';
    ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
    clipText(socketLabel(s), 14, y + 13, labelW - 20);
    var x0 = Math.max(labelW, xOf(s.t0));
    var x1 = Math.min(W, Math.max(xOf(s.t1), xOf(s.t0) + 2));
    if (x1 >= labelW && x0 <= W) {
      ctx.globalAlpha = 0.3;
      ctx.fillStyle = COLORS[s.worst] || COLORS.ok;
      ctx.fillRect(x0, y + 5, Math.max(1, x1 - x0), r.h - 10);
      ctx.globalAlpha = 1;
    }
    var cy = y + r.h / 2;
    var lastX = -1;
    ctx.fillStyle = COLORS.ok;
    s.ev.forEach(function (e, i) {
      if (e[1] !== 'ok') return;
      var x = xOf(e[0]);
      if (x < labelW || x > W) return;
      var px = Math.round(x);
      marks.push({ x: x, y: cy, s: s, i: i, cls: 'ok' });
      if (px === lastX) return;
      lastX = px;
      ctx.fillRect(px - 1, cy - 5, 2, 10);
    });
    s.ev.forEach(function (e, i) {
      if (e[1] === 'ok') return;
      var x = xOf(e[0]);
      if (x < labelW || x > W) return;
      marks.push({ x: x, y: cy, s: s, i: i, cls: e[1] });
      ctx.beginPath();
      ctx.arc(x, cy, 5, 0, 2 * Math.PI);
      ctx.fillStyle = COLORS[e[1]] || COLORS.fail;
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#ffffff';
      ctx.stroke();
    });
    if (state.pinned && state.pinned.s === s) {
      var px = xOf(s.ev[state.pinned.i][0]);
      ctx.beginPath();
      ctx.arc(px, cy, 8, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#1d2330';
      ctx.stroke();
    }
  }

  function drawHidden(r, y) {
    var h = r.g.hidden;
    var text = '+ ' + num(h.sockets) + ' more socket' + (h.sockets === 1 ? '' : 's') + ' (' +
      num(h.events) + ' events' + (h.failed ? ', ' + num(h.failed) + ' with failures or resets' : '') +
      ')';
    ctx.fillStyle = h.failed ? COLORS.fail : '#5d6675';
    ctx.font = 'italic 11px system-ui, sans-serif';
    clipText(text, 14, y + 13, labelW - 20);
    var x0 = Math.max(labelW, xOf(h.t0));
    var x1 = Math.min(W, Math.max(xOf(h.t1), xOf(h.t0) + 2));
    if (x1 < labelW || x0 > W) return;
    ctx.fillStyle = 'rgba(93, 102, 117, 0.25)';
    ctx.fillRect(x0, y + 4, Math.max(1, x1 - x0), r.h - 8);
    ctx.fillStyle = 'rgba(93, 102, 117, 0.5)';
    for (var x = x0; x < x1; x += 6) ctx.fillRect(x, y + 4, 1, r.h - 8);
  }

  function draw() {
    marks = [];
    ctx.clearRect(0, 0, W, H);
    var top = scroller.scrollTop;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var y = AXIS + r.y - top;
      if (y + r.h < AXIS) continue;
      if (y > H) break;
      if (r.type === 'group') {
        ctx.fillStyle = '#f4f6f9';
        ctx.fillRect(0, y, W, r.h);
        ctx.fillStyle = '#1d2330';
        ctx.font = 'bold 12px system-ui, sans-serif';
        var n = r.g.sockets.length + (r.g.hidden ? r.g.hidden.sockets : 0);
        var what = r.g.pid === null ? '' : '  ·  ' + num(n) + ' socket' + (n === 1 ? '' : 's');
        clipText(r.g.proc + what, 6, y + 15, W - 12);
      } else if (r.type === 'sock') {
        drawSocket(r, y);
      } else {
        drawHidden(r, y);
      }
    }
    drawLosses();
    ctx.fillStyle = '#d9dee7';
    ctx.fillRect(labelW - 1, AXIS, 1, H - AXIS);
    drawAxis();
  }

  function revealRow(s) {
    if (!s.row) return;
    var top = scroller.scrollTop;
    if (s.row.y < top || s.row.y + ROW > top + H - AXIS) scroller.scrollTop = s.row.y - 2 * ROW;
  }

  /* The mark under (x, y) in canvas pixels: the nearest within 7 px,
   * notable ones first. */
  function hit(x, y) {
    var best = null;
    var bestD = 49;
    for (var i = 0; i < marks.length; i++) {
      var m = marks[i];
      var d = (m.x - x) * (m.x - x) + (m.y - y) * (m.y - y) - (m.cls !== 'ok' ? 20 : 0);
      if (d < bestD) { best = m; bestD = d; }
    }
    return best;
  }

  function rowAt(y) {
    var yy = y - AXIS + scroller.scrollTop;
    for (var i = 0; i < rows.length; i++) {
      if (yy >= rows[i].y && yy < rows[i].y + rows[i].h) return rows[i];
    }
    return null;
  }

  var tip = $('tip');

  function showTip(m, cx, cy) {
    var e = m.s.ev[m.i];
    var f = e[4];
    var lines = [
      f.name + (statusWords(f) ? '  ' + statusWords(f) : ''),
      P.utcFull(e[0]) + '  (+' + dur(e[0]) + ' from start)',
      m.s.group.proc + '  ' + socketLabel(m.s),
      ''
    ];
    P.flatten(f, '', []).forEach(function (kv) { lines.push(kv[0] + ': ' + kv[1]); });
    tip.textContent = lines.join('\n');
    tip.hidden = false;
    var r = tip.getBoundingClientRect();
    var left = cx + 14;
    var top = cy + 14;
    if (left + r.width > window.innerWidth - 4) left = Math.max(4, cx - r.width - 14);
    if (top + r.height > window.innerHeight - 4) top = Math.max(4, cy - r.height - 14);
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
  }

  function local(ev) {
    var r = canvas.getBoundingClientRect();
    return { x: ev.clientX - r.left, y: ev.clientY - r.top };
  }

  var drag = null;

  canvas.addEventListener('mousedown', function (ev) {
    if (ev.button !== 0) return;
    drag = {
      x: ev.clientX, y: ev.clientY, t0: view.t0, t1: view.t1, top: scroller.scrollTop,
      moved: false
    };
    ev.preventDefault();
  });

  window.addEventListener('mousemove', function (ev) {
    if (drag) {
      var dx = ev.clientX - drag.x;
      var dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (!drag.moved) return;
      var shift = -dx / plotW() * (drag.t1 - drag.t0);
      view.t0 = drag.t0 + shift;
      view.t1 = drag.t1 + shift;
      scroller.scrollTop = drag.top - dy;
      tip.hidden = true;
      draw();
      return;
    }
    if (ev.target !== canvas) {
      tip.hidden = true;
      return;
    }
    var p = local(ev);
    var m = hit(p.x, p.y);
    if (m) showTip(m, ev.clientX, ev.clientY);
    else tip.hidden = true;
    canvas.style.cursor = m ? 'pointer' : 'crosshair';
  });

  window.addEventListener('mouseup', function (ev) {
    if (!drag) return;
    var moved = drag.moved;
    drag = null;
    if (moved || ev.target !== canvas) return;
    var p = local(ev);
    var m = hit(p.x, p.y);
    if (m) {
      P.selectSocket(m.s, m.i, false);
      return;
    }
    var r = rowAt(p.y);
    if (r && r.type === 'sock') P.selectSocket(r.s, null, false);
  });

  canvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    if (ev.shiftKey) {
      scroller.scrollTop += ev.deltaY || ev.deltaX;
      return;
    }
    var p = local(ev);
    var at = tOf(Math.min(Math.max(p.x, labelW), W));
    var factor = Math.exp(ev.deltaY * 0.0015);
    var range = (view.t1 - view.t0) * factor;
    var limit = (full.t1 - full.t0) * 4;
    if (range < 20 || range > limit) return;
    view.t0 = at - (at - view.t0) * factor;
    view.t1 = view.t0 + range;
    tip.hidden = true;
    draw();
  }, { passive: false });

  scroller.addEventListener('scroll', draw);
  window.addEventListener('resize', function () {
    layout();
    draw();
  });
  $('fit').addEventListener('click', function () {
    view.t0 = full.t0;
    view.t1 = full.t1;
    draw();
  });

  function renderLegend() {
    var legend = $('legend');
    P.OUTCOMES.forEach(function (l) {
      var span = el('span');
      var dot = el('i');
      dot.style.background = COLORS[l[0]];
      span.appendChild(dot);
      span.appendChild(document.createTextNode(l[1]));
      legend.appendChild(span);
    });
  }

  state.onSelect = function (s, reveal) {
    if (reveal) revealRow(s);
    draw();
  };
  renderLegend();
  layout();
  draw();

  /* For tests and the curious: the marks drawn, in page coordinates. */
  window.stReport = {
    data: data,
    marks: function () {
      var r = canvas.getBoundingClientRect();
      return marks.map(function (m) {
        var e = m.s.ev[m.i];
        return {
          ep: m.s.ep, index: e[2], name: e[4].name, cls: m.cls,
          x: r.left + m.x, y: r.top + m.y
        };
      });
    },
    select: function (ep) {
      if (P.byEp[ep]) P.selectSocket(P.byEp[ep], null, true);
      return !!P.byEp[ep];
    },
    /* From navigation to a drawn page, in ms. */
    renderMs: performance.now()
  };
})();
