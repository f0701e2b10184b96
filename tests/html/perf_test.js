/*
 * The HTML report of a large trace: generates N events (default 1M) as
 * JSON Lines — short connections from 40 processes, some refused, some
 * reset, a few long-lived connections with many sends, one loss record —
 * then times `socktrace report -f html` and the page's render in chromium
 * (from navigation to the end of its script), and checks generous bounds.
 * The figures go to OUT/perf.txt (the README quotes them).
 *
 * Usage: node perf_test.js SOCKTRACE OUT_DIR [EVENTS]
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { launch } = require('./cdp');

const [socktrace, outDir, countArg] = process.argv.slice(2);
const total = Number(countArg || 1000000);
const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

function generate(file) {
  const fd = fs.openSync(file, 'w');
  let ts = 1795634473000000000n;
  let seq = 0;
  let n = 0;
  let chunk = [];
  const put = (o) => {
    ts += 1500n;
    seq++;
    n++;
    o.ts_ns = String(ts);
    o.seq = seq;
    o.os = 'linux';
    o.backend = 'ebpf';
    o.level = o.level || 4;
    o.keywords = '0x6';
    chunk.push(JSON.stringify(o).replace(/"(ts_ns|from_ns|to_ns)":"(\d+)"/g, '"$1":$2'));
    if (chunk.length >= 5000) {
      fs.writeSync(fd, chunk.join('\n') + '\n');
      chunk = [];
    }
  };
  chunk.push(JSON.stringify({ socktrace: '0.1.0', host: 'perf', os: 'linux', backend: 'ebpf',
    level: 5 }));
  const who = (p) => ({ pid: 1000 + p, tid: 1000 + p, comm: `worker-${p}` });
  /* Four long-lived connections get a fifth of the events, spread over the trace. */
  const longs = [0, 1, 2, 3].map((i) => ({ ep: 0x900000 + i, p: 40 + (i % 2), port: 50000 + i }));
  for (const l of longs) {
    put(Object.assign({ provider: 'afd', name: 'AfdCreate', enter_exit: 1,
      endpoint: '0x' + l.ep.toString(16), family: 'inet', type: 'stream', protocol: 'tcp',
      status: 'ok' }, who(l.p)));
    put(Object.assign({ provider: 'afd', name: 'AfdConnectWithAddress', enter_exit: 1,
      endpoint: '0x' + l.ep.toString(16), local: { addr: '10.0.0.1', port: l.port },
      remote: { addr: '10.0.0.9', port: 5432 }, status: 'ok' }, who(l.p)));
  }
  let sock = 0;
  let lost = false;
  while (n < total - 40) {
    if (n % 5 === 0) {
      const l = longs[n % 4];
      put(Object.assign({ provider: 'afd', name: n % 10 ? 'AfdSend' : 'AfdReceive', level: 5,
        enter_exit: 1, endpoint: '0x' + l.ep.toString(16), bytes: 100 + (n % 900), buffers: 1,
        status: 'ok' }, who(l.p)));
      continue;
    }
    if (!lost && n > total / 2) {
      lost = true;
      put({ provider: 'ext', name: 'EventsLost', level: 2, count: 123, where: 'kernel_ring',
        from_ns: String(ts - 5000000n), to_ns: String(ts) });
      continue;
    }
    const p = sock % 40;
    const ep = '0x' + (0x1000 + sock).toString(16);
    const port = 20000 + (sock % 40000);
    const refused = sock % 97 === 5;
    const reset = !refused && sock % 50 === 7;
    sock++;
    const base = Object.assign({ provider: 'afd', enter_exit: 1, endpoint: ep }, who(p));
    put(Object.assign({}, base, { name: 'AfdCreate', family: 'inet', type: 'stream',
      protocol: 'tcp', status: 'ok' }));
    put(Object.assign({}, base, { name: 'AfdConnectWithAddress', enter_exit: 0,
      remote: { addr: '10.0.1.' + (p % 8), port: 8080 } }));
    if (refused) {
      put(Object.assign({}, base, { name: 'AfdConnectWithAddress',
        local: { addr: '10.0.0.1', port }, remote: { addr: '10.0.1.' + (p % 8), port: 8080 },
        status: 'refused', status_native: 111, status_domain: 'errno' }));
    } else {
      put(Object.assign({}, base, { name: 'AfdConnectWithAddress',
        local: { addr: '10.0.0.1', port }, remote: { addr: '10.0.1.' + (p % 8), port: 8080 },
        status: 'ok' }));
      put(Object.assign({}, base, { name: 'AfdSend', level: 5, bytes: 64, buffers: 1,
        status: 'ok' }));
      if (reset) {
        put(Object.assign({}, base, { name: 'AfdAbort', level: 2, enter_exit: 3, reason: 4,
          status: 'reset', status_native: 104, status_domain: 'errno' }));
      } else {
        put(Object.assign({}, base, { name: 'AfdReceive', level: 5, bytes: 512, buffers: 1,
          status: 'ok' }));
        put(Object.assign({}, base, { name: 'AfdCleanup', status: 'ok' }));
      }
    }
    put(Object.assign({}, base, { name: 'AfdClose', status: 'ok' }));
  }
  for (const l of longs) {
    put(Object.assign({ provider: 'afd', name: 'AfdClose', enter_exit: 1,
      endpoint: '0x' + l.ep.toString(16), status: 'ok' }, who(l.p)));
  }
  fs.writeSync(fd, chunk.join('\n') + '\n');
  fs.closeSync(fd);
  return { events: n, sockets: sock + longs.length };
}

(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  const jsonl = path.join(outDir, 'big.jsonl');
  const html = path.join(outDir, 'big.html');
  let t = Date.now();
  const g = generate(jsonl);
  const jsonlBytes = fs.statSync(jsonl).size;
  console.log(`generated ${g.events} events, ${g.sockets} sockets, ${jsonlBytes} bytes ` +
    `in ${(Date.now() - t) / 1000} s`);
  const timed = (args) => {
    const t0 = process.hrtime.bigint();
    execFileSync(socktrace, args, { stdio: 'inherit' });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  /* From JSON Lines, and from a .sktrace recording (the reading is then
   * cheap, so most of the time is the report's own), against -f null. */
  const sktrace = path.join(outDir, 'big.sktrace');
  const reportS = timed(['report', jsonl, '-f', 'html', '-o', html]);
  timed(['replay', jsonl, '-o', sktrace]);
  fs.rmSync(jsonl);
  const nullS = timed(['report', sktrace, '-f', 'null']);
  const sktraceS = timed(['report', sktrace, '-f', 'html', '-o', html]);
  fs.rmSync(sktrace);
  const htmlBytes = fs.statSync(html).size;

  const b = await launch();
  let renderMs = 0;
  let loadMs = 0;
  let hiddenNote = '';
  try {
    t = process.hrtime.bigint();
    await b.open('file://' + path.resolve(html));
    loadMs = Number(process.hrtime.bigint() - t) / 1e6;
    renderMs = await b.eval('stReport.renderMs');
    hiddenNote = await b.eval("document.getElementById('hidden-note').textContent");
    const loss = await b.eval("document.getElementById('loss').textContent");
    check(loss.includes('123 events were lost'), 'the loss warning shows');
    const top = await b.eval("document.getElementById('timeline').getBoundingClientRect().top" +
      ' + scrollY');
    await b.screenshot(path.join(outDir, 'big-report.png'), { x: 0, y: top, width: 1400,
      height: 800, scale: 1 });
    /* Interaction stays quick: ten zoom steps. */
    const z = process.hrtime.bigint();
    for (let i = 0; i < 10; i++) await b.mouse('mouseWheel', 900, 300, { deltaX: 0, deltaY: -120 });
    await b.eval('stReport.marks().length');
    const zoomMs = Number(process.hrtime.bigint() - z) / 1e6;
    console.log(`ten zoom steps: ${zoomMs.toFixed(0)} ms`);
    check(zoomMs < 5000, 'zooming a large report stays interactive (< 0.5 s a step)');
    check(b.seen.errors.length === 0, `no console errors (${b.seen.errors.join(' | ')})`);
  } finally {
    await b.close();
  }
  const lines = [
    `events: ${g.events}`,
    `sockets: ${g.sockets}`,
    `jsonl_bytes: ${jsonlBytes}`,
    `report_seconds_from_jsonl: ${reportS.toFixed(2)}`,
    `report_seconds_from_sktrace: ${sktraceS.toFixed(2)}`,
    `null_seconds_from_sktrace: ${nullS.toFixed(2)}`,
    `html_bytes: ${htmlBytes}`,
    `render_ms: ${renderMs.toFixed(0)}`,
    `load_ms: ${loadMs.toFixed(0)}`
  ];
  fs.writeFileSync(path.join(outDir, 'perf.txt'), lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  check(/are not drawn one by one/.test(hiddenNote), 'the page says how many sockets are hidden');
  check(htmlBytes < 20 * 1024 * 1024, 'the page stays under 20 MiB');
  check(reportS < 180 && sktraceS < 120, 'the report is written in minutes at most');
  check(renderMs < 20000, 'the page renders in under 20 s');
  process.exit(failures.length ? 1 : 0);
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
