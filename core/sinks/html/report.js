/*
 * socktrace HTML report, first script: reads the trace from #st-data
 * (written by core/sinks/html_page.c) and builds the header, the summary
 * tables and the per-socket view; timeline.js draws the timeline with the
 * helpers this one shares as window.stPage. Plain JavaScript, no
 * libraries, nothing loaded.
 *
 * Every value from the trace reaches the page through textContent or the
 * canvas, never as markup (no HTML parsing of trace data anywhere): a
 * process may well be named like an HTML tag with an onerror handler.
 */
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('st-data').textContent);
  var LEVELS = { 2: '2 Error', 3: '3 Warning', 4: '4 Information', 5: '5 Verbose' };
  /* The outcome classes core/sinks/html.c gives events, in words. */
  var OUTCOMES = [
    ['ok', 'ok'], ['fail', 'failed'], ['reset', 'reset / aborted by the peer'],
    ['abort', 'aborted / reset sent'], ['warn', 'retransmit / drop'], ['lost', 'events lost']
  ];
  var OUTCOME_WORDS = {};
  OUTCOMES.forEach(function (o) { OUTCOME_WORDS[o[0]] = o[1]; });

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
    /* Only when an event had a container. */
    if (data.containers && data.containers.length) {
      $('by-container-part').hidden = false;
      sortableTable($('by-container'), summaryCols({
        title: 'Container', get: function (r) { return r[0]; },
        show: function (r) { return r[0]; }
      }), data.containers, rowFailed);
    }
    sortableTable($('by-ipc'), summaryCols({
      title: 'Process → path', get: function (r) { return r[0]; },
      show: function (r) { return r[0]; }
    }), data.ipc || [], rowFailed);
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
    function durCol(title, i) {
      return { title: title, num: true, get: function (r) { return r[i]; },
               show: function (r) { return dur(r[i]); } };
    }
    sortableTable($('latency'), [
      { title: 'Of', get: function (r) { return r[0] === 'dns' ? 'DNS answers' : 'connects'; } },
      { title: 'By', get: function (r) { return r[1]; } },
      { title: 'Key', get: function (r) { return r[1] === 'remote' ? remoteLabel(r[2]) : r[2]; } },
      countCol('Count', 3), durCol('p50', 4), durCol('p90', 5), durCol('p99', 6),
      durCol('Max', 7)
    ], data.latency || [], function () { return false; });
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
      tr.appendChild(el('td', statusWords(f) || OUTCOME_WORDS[x.e[1]], 'bad'));
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

  /* The socket shown and the clicked mark ({s, i}); the timeline reads them. */
  var state = { selected: null, pinned: null, onSelect: null };

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
    state.selected = s;
    state.pinned = i === null || i === undefined ? null : { s: s, i: i };
    $('socket-title').textContent = socketLabel(s) + ' · ' + s.group.proc;
    $('socket-hint').textContent = num(s.n) + ' events; lifetime ' + dur(s.t1 - s.t0) +
      (s.closed ? '' : ' (not closed in the trace)');
    $('detail').textContent = socketText(s);
    showFields(s, i);
    if (state.onSelect) state.onSelect(s, reveal);
  }

  renderHeader();
  renderTables();

  window.stPage = {
    data: data, sockets: sockets, byEp: byEp, state: state, $: $, el: el, num: num, dur: dur,
    utc: utc, utcDate: utcDate, utcFull: utcFull, socketLabel: socketLabel, flatten: flatten,
    statusWords: statusWords, selectSocket: selectSocket, OUTCOMES: OUTCOMES
  };
})();

