/*
 * A small Chrome DevTools Protocol client over --remote-debugging-pipe
 * (no WebSocket, no npm package): starts Debian's chromium headless with a
 * fresh profile, opens one page, and records what a report must never do:
 * console errors, exceptions, network requests, dialogs (alert()).
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

function findChromium() {
  for (const name of [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!name) continue;
    const r = spawnSync('sh', ['-c', 'command -v "$0"', name], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

async function launch(opts = {}) {
  const exe = findChromium();
  if (!exe) throw new Error('chromium not found');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'st-chromium-'));
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-default-browser-check', '--disable-dev-shm-usage', '--remote-debugging-pipe',
    `--user-data-dir=${profile}`, 'about:blank'
  ];
  const proc = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const toBrowser = proc.stdio[3];
  const fromBrowser = proc.stdio[4];
  let nextId = 1;
  const pending = new Map();
  const listeners = [];
  let buf = '';
  fromBrowser.on('data', (chunk) => {
    buf += chunk.toString('utf8');
    let at;
    while ((at = buf.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buf.slice(0, at));
      buf = buf.slice(at + 1);
      if (msg.id && pending.has(msg.id)) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      } else if (msg.method) {
        for (const l of listeners) l(msg);
      }
    }
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  exited.then(() => {
    for (const p of pending.values()) p.reject(new Error(`chromium exited: ${stderr}`));
    pending.clear();
  });

  function send(method, params = {}, sessionId) {
    const id = nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, method });
      toBrowser.write(JSON.stringify(msg) + '\0');
    });
  }

  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const page = (method, params) => send(method, params, sessionId);

  const seen = { errors: [], requests: [], dialogs: [] };
  const waiters = [];
  listeners.push((msg) => {
    if (msg.sessionId !== sessionId) return;
    const p = msg.params;
    switch (msg.method) {
      case 'Runtime.consoleAPICalled':
        if (p.type === 'error' || p.type === 'assert')
          seen.errors.push('console: ' + p.args.map((a) => a.value ?? a.description).join(' '));
        break;
      case 'Runtime.exceptionThrown':
        seen.errors.push('exception: ' + (p.exceptionDetails.exception?.description ??
          p.exceptionDetails.text));
        break;
      case 'Log.entryAdded':
        if (p.entry.level === 'error') seen.errors.push('log: ' + p.entry.text);
        break;
      case 'Network.requestWillBeSent':
        seen.requests.push(p.request.url);
        break;
      case 'Page.javascriptDialogOpening':
        seen.dialogs.push(`${p.type}: ${p.message}`);
        page('Page.handleJavaScriptDialog', { accept: true }).catch(() => {});
        break;
      default:
        break;
    }
    for (const w of waiters.slice()) {
      if (w.method === msg.method) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(p);
      }
    }
  });
  const waitFor = (method, ms = 60000) => new Promise((resolve, reject) => {
    const w = { method, resolve };
    waiters.push(w);
    setTimeout(() => {
      if (waiters.includes(w)) {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`timed out waiting for ${method}`));
      }
    }, ms);
  });

  await page('Page.enable');
  await page('Runtime.enable');
  await page('Log.enable');
  await page('Network.enable');
  await page('Emulation.setDeviceMetricsOverride', {
    width: opts.width || 1400, height: opts.height || 1000, deviceScaleFactor: 1, mobile: false
  });

  return {
    seen,
    page,
    async open(url) {
      const loaded = waitFor('Page.loadEventFired');
      await page('Page.navigate', { url });
      await loaded;
    },
    async eval(expr) {
      const r = await page('Runtime.evaluate', { expression: expr, returnByValue: true,
        awaitPromise: true });
      if (r.exceptionDetails) throw new Error(`${expr}: ${r.exceptionDetails.text} ` +
        (r.exceptionDetails.exception?.description ?? ''));
      return r.result.value;
    },
    async mouse(type, x, y, extra = {}) {
      await page('Input.dispatchMouseEvent', Object.assign({ type, x, y, button: 'none' },
        extra));
    },
    async click(x, y) {
      await this.mouse('mouseMoved', x, y);
      await this.mouse('mousePressed', x, y, { button: 'left', buttons: 1, clickCount: 1 });
      await this.mouse('mouseReleased', x, y, { button: 'left', buttons: 0, clickCount: 1 });
    },
    async screenshot(file, clip) {
      const params = { format: 'png', captureBeyondViewport: true };
      if (clip) params.clip = clip;
      const { data } = await page('Page.captureScreenshot', params);
      fs.writeFileSync(file, Buffer.from(data, 'base64'));
    },
    async close() {
      send('Browser.close').catch(() => {});
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(profile, { recursive: true, force: true });
    }
  };
}

module.exports = { launch, findChromium };
