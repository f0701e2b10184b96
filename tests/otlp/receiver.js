// An independent OTLP/HTTP receiver for the tests: it decodes what
// socktrace POSTs with OpenTelemetry's own compiled protobuf definitions
// (npm's @opentelemetry/otlp-transformer 0.57.x, build/src/generated/root)
// and appends each request as one JSON line to OUT.
//   node receiver.js NODE_MODULES_DIR PORT_FILE OUT [PORT]
// It listens on 127.0.0.1 (PORT, or any free one) and writes the port to
// PORT_FILE once it listens; with OTLP_TLS_CERT and OTLP_TLS_KEY (PEM
// files) in the environment it speaks HTTPS. A request that does not decode is answered
// 400 and written as {"error":...}: the test sees it.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');

const [modules, portFile, out, port] = process.argv.slice(2);
const root = require(path.resolve(modules, '@opentelemetry/otlp-transformer/build/src/generated/root'));
const v1 = root.opentelemetry.proto.collector;
const types = {
  '/v1/logs': ['logs', v1.logs.v1.ExportLogsServiceRequest],
  '/v1/metrics': ['metrics', v1.metrics.v1.ExportMetricsServiceRequest],
};

const tls = process.env.OTLP_TLS_CERT
  ? { cert: fs.readFileSync(process.env.OTLP_TLS_CERT), key: fs.readFileSync(process.env.OTLP_TLS_KEY) }
  : null;
const handler = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const t = types[req.url];
    let line;
    try {
      if (!t || req.method !== 'POST') throw new Error(`unexpected ${req.method} ${req.url}`);
      if (req.headers['content-type'] !== 'application/x-protobuf')
        throw new Error(`content-type ${req.headers['content-type']}`);
      const msg = t[1].decode(Buffer.concat(chunks));
      const body = t[1].toObject(msg, { longs: String, enums: Number, oneofs: true });
      line = { kind: t[0], headers: { authorization: req.headers['authorization'] || null }, body };
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
    } catch (e) {
      line = { error: String(e.message || e) };
      res.writeHead(400);
    }
    fs.appendFileSync(out, JSON.stringify(line) + '\n');
    res.end();
  });
};
const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
server.listen(port ? Number(port) : 0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => process.exit(0));
