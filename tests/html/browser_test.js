/*
 * The HTML report in a real browser (Debian's chromium, headless, started
 * here): the demo trace's report loads with no console error and no
 * request beyond the file itself; its refused connect is in the failures
 * part of the tables and a red mark on the timeline; hovering the mark
 * shows its fields, clicking it shows its socket's --timeline text; wheel
 * zooms and drag pans; a column header sorts. A trace whose names are
 * markup shows them as text and runs nothing. Screenshots are kept in
 * OUT (the build tree) as test artifacts.
 *
 * Usage: node browser_test.js SOCKTRACE SOURCE_DIR OUT_DIR
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { launch } = require('./cdp');

const [socktrace, srcDir, outDir] = process.argv.slice(2);
const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

function report(input, output) {
  execFileSync(socktrace, ['report', input, '-f', 'html', '-o', output], { stdio: 'inherit' });
}

/* JSON with the nanosecond times as numbers (too big for a double). */
function jsonLine(o) {
  return JSON.stringify(o).replace(/"(ts_ns|from_ns|to_ns)":"(\d+)"/g, '"$1":$2');
}

function fileUrl(p) { return 'file://' + path.resolve(p); }

function expectClean(b, url, what) {
  check(b.seen.errors.length === 0, `${what}: no console errors (${b.seen.errors.join(' | ')})`);
  check(b.seen.requests.includes(url), `${what}: the browser saw the file's own request`);
  const others = b.seen.requests.filter((u) => u !== url);
  check(others.length === 0, `${what}: no request but the file itself (${others.join(', ')})`);
  check(b.seen.dialogs.length === 0, `${what}: no dialog opened (${b.seen.dialogs.join(', ')})`);
}

/* The ep=0x101 block of the --timeline fixture: what the socket view shows. */
function timelineBlock(ep) {
  const text = fs.readFileSync(path.join(srcDir, 'tests/fixtures/demo.timeline.txt'), 'utf8');
  const start = text.indexOf(`  ep=${ep} `);
  const end = text.indexOf('\n\n', start);
  return text.slice(start, end < 0 ? undefined : end + 1);
}

async function demo(b) {
  const html = path.join(outDir, 'demo.html');
  report(path.join(srcDir, 'tests/fixtures/demo.jsonl'), html);
  const url = fileUrl(html);
  await b.open(url);

  const procFail = await b.eval("document.querySelector('#by-process tbody.failures').textContent");
  check(procFail.includes('curl[4242]') && procFail.includes('refused 1'),
    'by process: curl[4242] with "refused 1" is in the failures part');
  const procOk = await b.eval("document.querySelector('#by-process tbody.others').textContent");
  check(!procOk.includes('curl[4242]') && procOk.includes('dig[4400]'),
    'by process: the others are below it');
  const remoteFail = await b.eval("document.querySelector('#by-remote tbody.failures').textContent");
  check(remoteFail.includes('127.0.0.1:9') && remoteFail.includes('refused 1'),
    'by remote: 127.0.0.1:9 is in the failures part');
  const failList = await b.eval("document.querySelector('#failures tbody').textContent");
  check(/AfdConnectWithAddress.*refused \(ECONNREFUSED \/ WSAECONNREFUSED\)/.test(failList),
    'the failures list names the refused connect');
  const facts = await b.eval("document.getElementById('facts').textContent");
  check(facts.includes('47 shown of 47') && facts.includes('2.787 ms'),
    'the header gives the event count and the time span');
  check(await b.eval("document.getElementById('loss').hidden"), 'no loss warning without loss');

  await b.eval("document.getElementById('timeline').scrollIntoView()");
  let marks = await b.eval('stReport.marks()');
  const refused = marks.find((m) => m.ep === '0x101' && m.name === 'AfdConnectWithAddress' &&
    m.cls === 'fail');
  check(!!refused, 'the timeline has a failure mark for the refused connect of ep 0x101');
  if (!refused) return;
  const rgb = await b.eval(`(function () {
      var c = document.getElementById('tl'), r = c.getBoundingClientRect();
      var d = c.getContext('2d').getImageData(Math.round((${refused.x} - r.left) *
        devicePixelRatio), Math.round((${refused.y} - r.top) * devicePixelRatio), 1, 1).data;
      return [d[0], d[1], d[2]];
    })()`);
  check(Math.abs(rgb[0] - 0xd6) < 12 && rgb[1] < 60 && rgb[2] < 60,
    `the mark is drawn in the failure colour (rgb ${rgb})`);
  const okMarks = marks.filter((m) => m.cls !== 'ok').map((m) => m.ep + ' ' + m.name);
  check(okMarks.includes('0x203 AfdAbort') && okMarks.includes('0x104 TcpResetSent'),
    `resets and aborts are marked too (${okMarks.join(', ')})`);

  await b.mouse('mouseMoved', refused.x, refused.y);
  const tip = await b.eval("(function () { var t = document.getElementById('tip'); " +
    'return { hidden: t.hidden, text: t.textContent }; })()');
  check(!tip.hidden && tip.text.includes('AfdConnectWithAddress') &&
    tip.text.includes('status: refused') && tip.text.includes('status_native_name: ECONNREFUSED') &&
    tip.text.includes('remote.port: 9') && tip.text.includes('19:21:13.101105000'),
  'hovering the mark shows its fields and its UTC time');

  await b.click(refused.x, refused.y);
  const fields = await b.eval("document.getElementById('fields').textContent");
  check(fields.includes('status_windows_name') && fields.includes('WSAECONNREFUSED'),
    'clicking the mark pins its fields');
  const detail = await b.eval("document.getElementById('detail').textContent");
  check(detail === timelineBlock('0x101'),
    `the socket view is the --timeline text of ep 0x101:\n${detail}`);
  await b.screenshot(path.join(outDir, 'demo-report.png'));

  /* Zoom in on the mark (wheel), then pan (drag). */
  const before = marks.filter((m) => m.ep === '0x101');
  const width0 = before[before.length - 1].x - before[0].x;
  await b.mouse('mouseWheel', refused.x, refused.y, { deltaX: 0, deltaY: -600 });
  marks = await b.eval('stReport.marks()');
  const zoomed = marks.filter((m) => m.ep === '0x101');
  const width1 = zoomed[zoomed.length - 1].x - zoomed[0].x;
  check(width1 > width0 * 2, `the wheel zooms in (ep 0x101 spans ${width0} px, then ${width1})`);
  const r0 = zoomed.find((m) => m.cls === 'fail');
  await b.mouse('mousePressed', r0.x + 30, r0.y + 40, { button: 'left', buttons: 1, clickCount: 1 });
  await b.mouse('mouseMoved', r0.x + 130, r0.y + 40, { button: 'left', buttons: 1 });
  await b.mouse('mouseReleased', r0.x + 130, r0.y + 40, { button: 'left', buttons: 0 });
  marks = await b.eval('stReport.marks()');
  const r1 = marks.find((m) => m.ep === '0x101' && m.cls === 'fail');
  check(r1 && Math.abs(r1.x - r0.x - 100) < 2, 'dragging pans the timeline by the distance moved');

  /* Sorting: by Sent, largest first, within each part. */
  await b.eval("Array.from(document.querySelectorAll('#by-process th'))" +
    ".find(function (th) { return th.textContent === 'Sent'; }).click()");
  const sorted = await b.eval("Array.from(document.querySelectorAll('#by-process tbody.others " +
    "tr:not(.part) td:first-child')).map(function (td) { return td.textContent; })");
  check(sorted.join(' ') === 'demo-server[4300] dig[4400]', `sorting by Sent (${sorted})`);
  const ariaSort = await b.eval("Array.from(document.querySelectorAll('#by-process th'))" +
    ".find(function (th) { return th.textContent === 'Sent'; }).getAttribute('aria-sort')");
  check(ariaSort === 'descending', 'the sorted header says so');

  expectClean(b, url, 'demo report');
}

/* Names that are markup must stay text. */
async function hostile(b) {
  const ts = 1795634473100000000n;
  const base = { provider: 'afd', os: 'linux', backend: 'ebpf', level: 4, keywords: '0x6',
    enter_exit: 1 };
  const img = '<img src=x onerror=alert(1)>';
  const script = '</script><script>alert(1)</script>';
  const lines = [
    { socktrace: '0.1.0', host: script, os: 'linux', backend: 'ebpf', level: 5 },
    Object.assign({}, base, { ts_ns: String(ts), name: 'AfdCreate', seq: 1, pid: 7, tid: 7,
      comm: img, endpoint: '0x1', family: 'unix', type: 'stream', status: 'ok' }),
    Object.assign({}, base, { ts_ns: String(ts + 1000n), name: 'AfdConnectWithAddress', seq: 2,
      pid: 7, tid: 7, comm: img, endpoint: '0x1', remote: { path: script },
      status: 'refused', status_native: 111, status_domain: 'errno' }),
    Object.assign({}, base, { ts_ns: String(ts + 2000n), name: 'AfdCreate', seq: 3, pid: 8,
      tid: 8, comm: '</script>\u2028&', endpoint: '0x2', family: 'inet', type: 'stream',
      protocol: 'tcp', container: img + script, status: 'ok' }),
    Object.assign({}, base, { ts_ns: String(ts + 3000n), name: 'AfdClose', seq: 4, pid: 8,
      tid: 8, comm: '</script>\u2028&', endpoint: '0x2', status: 'ok' })
  ];
  /* The file's name is markup too: the page names its source. */
  const jsonl = path.join(outDir, img + '.jsonl');
  fs.writeFileSync(jsonl, lines.map(jsonLine).join('\n') + '\n');
  const html = path.join(outDir, 'hostile.html');
  report(jsonl, html);
  const raw = fs.readFileSync(html, 'utf8');
  check(!raw.includes('<img') && (raw.match(/<\/script>/g) || []).length === 3,
    'the file holds no markup from the trace (three </script>: the data and two scripts)');
  const url = fileUrl(html);
  await b.open(url);
  const body = await b.eval('document.body.textContent');
  check(body.includes(img.slice(0, 16)), 'the comm shows as text (16 bytes, as traced)');
  check(await b.eval('document.querySelectorAll("img").length') === 0, 'no <img> element exists');
  check(await b.eval('document.scripts.length') === 3, 'no script element was added');
  await b.eval("stReport.select('0x2')");
  const detail2 = await b.eval("document.getElementById('detail').textContent");
  check(detail2.includes('</script>\u2028&[8]'), 'a comm with </script>, U+2028 and & shows as text');
  await b.eval("stReport.select('0x1')");
  const detail = await b.eval("document.getElementById('detail').textContent");
  check(detail.includes(script), 'a unix path with </script><script> shows as text');
  const title = await b.eval('document.title');
  const h1 = await b.eval("document.querySelector('h1').textContent");
  check(title.includes(img) && h1.includes(img), 'the file name is text in the title and heading');
  await b.eval("document.getElementById('timeline').scrollIntoView()");
  const marks = await b.eval('stReport.marks()');
  const m = marks.find((x) => x.cls === 'fail');
  if (m) {
    await b.mouse('mouseMoved', m.x, m.y);
    const tip = await b.eval("document.getElementById('tip').textContent");
    check(tip.includes(script) && tip.includes('comm: ' + img.slice(0, 16)),
      'the tooltip shows the hostile values as text');
  } else {
    check(false, 'the hostile trace has its failure mark');
  }
  await new Promise((r) => setTimeout(r, 300)); /* time for an onerror to fire, if it could */
  await b.screenshot(path.join(outDir, 'hostile-report.png'));
  expectClean(b, url, 'hostile report');
}

(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  const b = await launch();
  try {
    await demo(b);
    b.seen.errors.length = b.seen.requests.length = b.seen.dialogs.length = 0;
    await hostile(b);
  } finally {
    await b.close();
  }
  console.log(failures.length ? `${failures.length} check(s) failed` : 'all checks passed');
  console.log(`screenshots: ${outDir}/demo-report.png, ${outDir}/hostile-report.png`);
  process.exit(failures.length ? 1 : 0);
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
