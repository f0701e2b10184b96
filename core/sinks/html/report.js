/*
 * socktrace HTML report: reads the trace from #st-data (written by
 * core/sinks/html_page.c) and builds the header, the summary tables, the
 * timeline (a canvas: one row per socket, grouped by process) and the
 * per-socket view. Plain JavaScript, no libraries, nothing loaded.
 *
 * Every value from the trace reaches the page through textContent or the
 * canvas, never as markup (no HTML parsing of trace data anywhere): a
 * process may well be named like an HTML tag with an onerror handler.
 */
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('st-data').textContent);
  var COLORS = {
    ok: '#4f7cac', warn: '#bcbd22', abort: '#e07b00', reset: '#a21caf', fail: '#d62728',
    lost: '#111827'
  };
  var LEGEND = [
    ['ok', 'ok'], ['fail', 'failed'], ['reset', 'reset / aborted by the peer'],
    ['abort', 'aborted / reset sent'], ['warn', 'retransmit / drop'], ['lost', 'events lost']
  ];
  var LEVELS = { 2: '2 Error', 3: '3 Warning', 4: '4 Information', 5: '5 Verbose' };

  function $(id) { return document.getElementById(id); }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function num(n) { return Number(n).toLocaleString('en-US'); }

  function round3(x) { return String(Math.round(x * 1000) / 1000); }

  /* A duration in ns, in words: "1.25 ms". */
  function dur(ns) {
    var a = Math.abs(ns);
    if (a < 1e3) return Math.round(ns) + ' ns';
    if (a < 1e6) return round3(ns / 1e3) + ' µs';
    if (a < 1e9) return round3(ns / 1e6) + ' ms';
    return round3(ns / 1e9) + ' s';
  }

  /* UTC time of day of t (ns from the first event) with digits decimals. */
  function utc(t, digits) {
    var total = data.origin.ns + t;
    var sec = Math.floor(total / 1e9);
    var frac = total - sec * 1e9;
    var iso = new Date((data.origin.s + sec) * 1000).toISOString();
    var f = String(Math.floor(frac));
    while (f.length < 9) f = '0' + f;
    f = f.slice(0, digits === undefined ? 6 : digits);
    return iso.slice(11, 19) + (f ? '.' + f : '');
  }

  function utcDate(t) {
    var sec = Math.floor((data.origin.ns + t) / 1e9);
    return new Date((data.origin.s + sec) * 1000).toISOString().slice(0, 10);
  }

  function utcFull(t) { return utcDate(t) + ' ' + utc(t, 9) + ' UTC'; }

  /* ---- DNS names of remotes (events carry remote.name when known) ---- */

  var names = {};

  function hostPort(r) {
    var a = r.addr.indexOf(':') >= 0 ? '[' + r.addr + ']' : r.addr;
    return a + ':' + r.port;
  }

  function noteName(f) {
    var r = f && f.remote;
    if (r && r.name && r.addr !== undefined) {
      names[hostPort(r)] = r.name;
      names[r.addr] = r.name;
    }
  }

  /* "example.com (93.184.216.34:443)" when the name is known. */
  function remoteLabel(key) {
    if (!key) return key;
    var name = names[key];
    if (!name) {
      var ip = /:\*$/.test(key) ? key.slice(0, -2) : key.replace(/:\d+$/, '');
      name = names[ip.replace(/^\[|\]$/g, '')];
    }
    return name ? name + ' (' + key + ')' : key;
  }

  /* ---- sockets and events ---- */

  var sockets = [];
  var byEp = {};
  data.groups.forEach(function (g) {
    g.sockets.forEach(function (s) {
      s.group = g;
      sockets.push(s);
      byEp[s.ep] = s;
      s.ev.forEach(function (e) { noteName(e[4]); });
    });
  });

  function socketLabel(s) {
    if (s.ep === '0x0') return '(not tied to a socket)';
    var parts = [s.ep];
    if (s.proto) parts.push(s.proto);
    if (s.local) parts.push(s.local);
    if (s.remote) parts.push((s.local ? '→ ' : 'peer ') + remoteLabel(s.remote));
    return parts.join(' ');
  }

  function flatten(obj, prefix, out) {
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      if (v !== null && typeof v === 'object') flatten(v, prefix + k + '.', out);
      else out.push([prefix + k, String(v)]);
    });
    return out;
  }

  function statusWords(f) {
    if (f.status && f.status !== 'ok') {
      var n = [f.status_native_name, f.status_windows_name].filter(Boolean).join(' / ');
      return f.status + (n ? ' (' + n + ')' : '');
    }
    if (f.reason_name) return f.reason_name;
    if (f.count !== undefined && f.where) return f.count + ' lost (' + f.where + ')';
    return f.status || '';
  }

  /* ---- header ---- */

  function renderHeader() {
    var tr = data.trace || {};
    var c = data.counts;
    var t = data.totals;
    if (data.source) $('source').textContent = data.source;
    document.title = 'socktrace report' + (tr.host ? ' — ' + tr.host : '') +
      (data.source ? ' — ' + data.source : '');
    var facts = [
      ['Host', tr.host || '?'],
      ['OS', tr.os || '?'],
      ['Backend', tr.backend || '?'],
      ['Level', LEVELS[tr.level] || tr.level || '?'],
      ['Keywords', tr.keywords || '?'],
      ['Recording started', tr.started ? tr.started.replace('T', ' ').replace('Z', ' UTC') : '—'],
      ['First event', t.events ? utcFull(0) : '—'],
      ['Last event', t.events ? utcFull(data.span_ns) : '—'],
      ['Time span', dur(data.span_ns)],
      ['Events', num(c.shown) + ' shown of ' + num(c.seen) +
        (c.filtered ? ' (' + num(c.filtered) + ' filtered out)' : '')],
      ['Sockets', num(t.sockets)],
      ['Lost', num(c.lost)]
    ];
    var dl = $('facts');
    facts.forEach(function (f) {
      var d = el('div');
      d.appendChild(el('dt', f[0]));
      d.appendChild(el('dd', f[1]));
      dl.appendChild(d);
    });
    if (c.lost > 0) {
      var where = {};
      data.losses.forEach(function (l) { where[l.where] = (where[l.where] || 0) + l.count; });
      var w = Object.keys(where).map(function (k) { return k + ' ' + num(where[k]); }).join(', ');
      var loss = $('loss');
      loss.textContent = '⚠ ' + num(c.lost) + ' events were lost while tracing' +
        (w ? ' (' + w + ')' : '') + ': the tables and the timeline are incomplete ' +
        '(the shaded bands on the timeline say when). Raise the ring or buffer size.';
      loss.hidden = false;
    }
    var notes = [];
    if (t.hidden_sockets > 0) {
      notes.push(num(t.hidden_sockets) + ' of ' + num(t.sockets) + ' sockets (' +
        num(t.hidden_events) + ' events) are not drawn one by one: this report draws at most ' +
        num(data.limits.sockets) + ' (the longest-lived tenth, then failures, resets and aborts ' +
        'taking turns, then the longest-lived) and folds the rest into one “more sockets” row ' +
        'per process.');
    }
    if (t.embedded < t.events) {
      notes.push('The page holds ' + num(t.embedded) + ' of the ' + num(t.events) +
        ' events with their fields (at most ' + num(data.limits.events) + '; per socket the first ' +
        data.limits.head + ', the last ' + data.limits.tail + ' and up to ' + data.limits.mid +
        ' failures in between); the tables count every event.');
    }
    if (notes.length) {
      $('hidden-note').textContent = notes.join(' ');
      $('hidden-note').hidden = false;
    }
    $('foot').textContent = 'Written by socktrace ' + data.socktrace +
      '. Self-contained: this file loads nothing from the network.';
  }

  /* ---- tables ---- */

  /* rows: arrays; cols: {title, get(row) (sort key), show(row) (text), num, bad(row)};
   * failed(row) puts a row in the failures part, listed first. */
  function sortableTable(table, cols, rows, failed) {
    var state = { col: -1, dir: 1 };
    var thead = el('thead');
    var htr = el('tr');
    var ths = cols.map(function (c, i) {
      var th = el('th', c.title, c.num ? 'num' : '');
      th.setAttribute('aria-sort', 'none');
      th.title = 'Sort by ' + c.title;
      th.addEventListener('click', function () {
        state.dir = state.col === i ? -state.dir : (c.num ? -1 : 1);
        state.col = i;
        fill();
      });
      htr.appendChild(th);
      return th;
    });
    thead.appendChild(htr);
    table.appendChild(thead);
    var bad = el('tbody', null, 'failures');
    var good = el('tbody', null, 'others');
    table.appendChild(bad);
    table.appendChild(good);

    function partRow(text) {
      var tr = el('tr', null, 'part');
      var th = el('th', text);
      th.colSpan = cols.length;
      tr.appendChild(th);
      return tr;
    }

    function fill() {
      var order = rows.slice();
      if (state.col >= 0) {
        var c = cols[state.col];
        order.sort(function (a, b) {
          var x = c.get(a);
          var y = c.get(b);
          return (x < y ? -1 : x > y ? 1 : 0) * state.dir;
        });
      }
      ths.forEach(function (th, i) {
        th.setAttribute('aria-sort', i !== state.col ? 'none' :
          state.dir > 0 ? 'ascending' : 'descending');
      });
      clear(bad);
      clear(good);
      var nbad = order.filter(failed).length;
      if (nbad) bad.appendChild(partRow('with failures'));
      if (nbad && nbad < order.length) good.appendChild(partRow('others'));
      order.forEach(function (r) {
        var tr = el('tr');
        cols.forEach(function (c) {
          var v = c.show ? c.show(r) : c.get(r);
          var cls = (c.num ? 'num' : '') + (c.bad && c.bad(r) ? ' bad' : '');
          tr.appendChild(el('td', v, cls));
        });
        (failed(r) ? bad : good).appendChild(tr);
      });
      if (!order.length) good.appendChild(partRow('(none)'));
    }
    fill();
  }

  function countCol(title, i, badWhenSet) {
    return {
      title: title, num: true,
      get: function (r) { return r[i]; },
      show: function (r) { return num(r[i]); },
      bad: badWhenSet ? function (r) { return r[i] > 0; } : null
    };
  }

  function summaryCols(first) {
    return [
      first,
      countCol('Connects', 2), countCol('OK', 3), countCol('Failed', 4, true),
      countCol('Accepts', 6), countCol('Sent', 7), countCol('Received', 8),
      countCol('RST in', 9, true), countCol('RST out', 10, true),
      {
        title: 'Failures', get: function (r) { return r[11]; },
        show: function (r) { return r[11] || '-'; }, bad: function (r) { return !!r[11]; }
      }
    ];
  }

  function rowFailed(r) { return r[4] > 0 || r[5] > 0; }

  /* The summary's own order (by pid) is the Process column's. */
  var procIndex = {};
  data.procs.forEach(function (r, i) { procIndex[r[0]] = i; });

  function renderTables() {
    sortableTable($('by-process'), summaryCols({
      title: 'Process', get: function (r) { return procIndex[r[0]]; },
      show: function (r) { return r[0]; }
    }), data.procs, rowFailed);
    sortableTable($('by-remote'), summaryCols({
      title: 'Remote', get: function (r) { return r[0]; },
      show: function (r) { return remoteLabel(r[0]); }
    }), data.remotes, rowFailed);
    sortableTable($('longest'), [
      { title: 'Process', get: function (r) { return r[0]; } },
      { title: 'Endpoint', get: function (r) { return r[1]; } },
      { title: 'Local → remote', get: function (r) { return r[2] + ' → ' + remoteLabel(r[3]); } },
      {
        title: 'Lifetime', num: true, get: function (r) { return r[4]; },
        show: function (r) { return dur(r[4]); }
      },
      countCol('Sent', 5), countCol('Received', 6)
    ], data.longest, function () { return false; });
    renderFailures();
  }

  function renderFailures() {
    var list = [];
    sockets.forEach(function (s) {
      s.ev.forEach(function (e, i) {
        if (e[1] !== 'ok') list.push({ s: s, i: i, e: e });
      });
    });
    list.sort(function (a, b) { return a.e[0] - b.e[0]; });
    var table = $('failures');
    var thead = el('thead');
    var htr = el('tr');
    ['Time (UTC)', 'From start', 'Process', 'Socket', 'Event', 'Outcome'].forEach(function (t) {
      htr.appendChild(el('th', t));
    });
    thead.appendChild(htr);
    table.appendChild(thead);
    var body = el('tbody', null, list.length ? 'failures' : '');
    var max = 1000;
    list.slice(0, max).forEach(function (x) {
      var f = x.e[4];
      var tr = el('tr');
      tr.appendChild(el('td', utc(x.e[0])));
      tr.appendChild(el('td', '+' + dur(x.e[0]), 'num'));
      tr.appendChild(el('td', x.s.group.proc));
      tr.appendChild(el('td', socketLabel(x.s)));
      tr.appendChild(el('td', f.name));
      tr.appendChild(el('td', statusWords(f) || x.e[1], 'bad'));
      tr.addEventListener('click', function () {
        selectSocket(x.s, x.i, true);
        $('socket').scrollIntoView();
      });
      body.appendChild(tr);
    });
    if (!list.length) {
      var tr = el('tr');
      var td = el('td', 'No failures, resets or aborts in this trace.');
      td.colSpan = 6;
      tr.appendChild(td);
      body.appendChild(tr);
    } else if (list.length > max) {
      var more = el('tr');
      var mtd = el('td', '… and ' + num(list.length - max) + ' more');
      mtd.colSpan = 6;
      more.appendChild(mtd);
      body.appendChild(more);
    }
    table.appendChild(body);
  }

  /* ---- the per-socket view ---- */

  var selected = null;
  var pinned = null; /* {s, i}: the clicked mark */

  /* The --timeline text of one socket, with a line where events were left out. */
  function socketText(s) {
    var lines = ['  ' + s.heading];
    var next = 0;
    s.ev.forEach(function (e) {
      if (e[2] > next) lines.push('    … ' + num(e[2] - next) + ' events not kept in this report');
      lines.push('    ' + e[3]);
      next = e[2] + 1;
    });
    if (s.n > next) lines.push('    … ' + num(s.n - next) + ' events not kept in this report');
    return lines.join('\n') + '\n';
  }

  function showFields(s, i) {
    var table = $('fields');
    clear(table);
    if (i === null || i === undefined) {
      $('fields-title').hidden = true;
      return;
    }
    var e = s.ev[i];
    $('fields-title').hidden = false;
    $('fields-title').textContent = 'Event ' + e[4].name + ' (' + e[1] + ')';
    var body = el('tbody');
    flatten(e[4], '', []).forEach(function (kv) {
      var tr = el('tr');
      tr.appendChild(el('td', kv[0]));
      tr.appendChild(el('td', kv[1]));
      body.appendChild(tr);
    });
    table.appendChild(body);
  }

  function selectSocket(s, i, reveal) {
    selected = s;
    pinned = i === null || i === undefined ? null : { s: s, i: i };
    $('socket-title').textContent = socketLabel(s) + ' · ' + s.group.proc;
    $('socket-hint').textContent = num(s.n) + ' events; lifetime ' + dur(s.t1 - s.t0) +
      (s.closed ? '' : ' (not closed in the trace)');
    $('detail').textContent = socketText(s);
    showFields(s, i);
    if (reveal) revealRow(s);
    draw();
  }

  /* ---- the timeline ---- */

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
    ctx.fillText('UTC ' + utcDate(Math.max(0, view.t0)), 8, 33);
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
    if (s === selected) {
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
    if (pinned && pinned.s === s) {
      var px = xOf(s.ev[pinned.i][0]);
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
      utcFull(e[0]) + '  (+' + dur(e[0]) + ' from start)',
      m.s.group.proc + '  ' + socketLabel(m.s),
      ''
    ];
    flatten(f, '', []).forEach(function (kv) { lines.push(kv[0] + ': ' + kv[1]); });
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
      selectSocket(m.s, m.i, false);
      return;
    }
    var r = rowAt(p.y);
    if (r && r.type === 'sock') selectSocket(r.s, null, false);
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
    LEGEND.forEach(function (l) {
      var span = el('span');
      var dot = el('i');
      dot.style.background = COLORS[l[0]];
      span.appendChild(dot);
      span.appendChild(document.createTextNode(l[1]));
      legend.appendChild(span);
    });
  }

  renderHeader();
  renderTables();
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
      if (byEp[ep]) selectSocket(byEp[ep], null, true);
      return !!byEp[ep];
    },
    /* From navigation to a drawn page, in ms. */
    renderMs: performance.now()
  };
})();
