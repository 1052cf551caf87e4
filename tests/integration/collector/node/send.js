// Send events with npm fluent-logger and report which were acknowledged.
// usage: node send.js '<json>' where json = {host, port, mode, sharedKey?, clientHostname?,
//   username?, password?, tag, events: [{time: <int seconds> | [sec, nsec], record: {...}}]}
// prints {"acked": n, "errors": ["..."]} and exits 0 when every event was acknowledged.
'use strict';
const FluentLogger = require('fluent-logger');

const conf = JSON.parse(process.argv[2]);
const options = {
  host: conf.host,
  port: conf.port,
  timeout: 5.0,
  reconnectInterval: 60000,
  requireAckResponse: true,
  ackResponseTimeout: 20000,
  eventMode: conf.mode,
  flushInterval: 50,
  internalLogger: { info() {}, error(...a) { console.error(...a); } },
};
if (conf.sharedKey) {
  options.security = { clientHostname: conf.clientHostname, sharedKey: conf.sharedKey };
  if (conf.username) {
    options.security.username = conf.username;
    options.security.password = conf.password;
  }
}
const sender = FluentLogger.createFluentSender(null, options);
let acked = 0;
const errors = [];
sender.on('error', (err) => errors.push(String(err)));
const pending = conf.events.map((ev) => new Promise((resolve) => {
  const time = Array.isArray(ev.time) ? new FluentLogger.EventTime(ev.time[0], ev.time[1]) : ev.time;
  sender.emit(conf.tag, ev.record, time, (err) => {
    if (err) errors.push(String(err)); else acked += 1;
    resolve();
  });
}));
const guard = setTimeout(() => { errors.push('timeout'); finish(); }, 30000);
function finish() {
  clearTimeout(guard);
  process.stdout.write(JSON.stringify({ acked, errors }) + '\n');
  sender.end();
  setTimeout(() => process.exit(acked === conf.events.length ? 0 : 1), 100);
}
Promise.all(pending).then(finish);
