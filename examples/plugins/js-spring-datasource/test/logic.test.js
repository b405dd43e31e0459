// Unit tests of the plugin logic with plain node (no wasm): `node --test test/`
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginError, parseConfig, transform } from '../logic.js';

const SECRET = { username: 'app', password: 'p@ss/w"rd', host: 'db.internal', port: 5432, dbname: 'orders' };
const enc = (o) => new TextEncoder().encode(JSON.stringify(o));
const run = (config, secret = SECRET) => transform(parseConfig(JSON.stringify(config)), [{ path: 'db', contents: enc(secret), mode: undefined }]);
const text = (f) => new TextDecoder().decode(f.contents);
const fails = (fn, kind) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PluginError, `not a PluginError: ${e}`);
    assert.equal(e.kind, kind);
    return e.message;
  }
  assert.fail('expected an error');
};

test('defaults: postgresql application.yaml with JSON-quoted values', () => {
  const [out] = run({});
  assert.equal(out.path, 'application.yaml');
  assert.equal(out.mode, undefined);
  assert.equal(
    text(out),
    'spring:\n  datasource:\n    url: "jdbc:postgresql://db.internal:5432/orders"\n    username: "app"\n    password: "p@ss/w\\"rd"\n',
  );
});

test('mysql with overrides, params, prefix, RDS fields and kept input', () => {
  const out = run(
    { vendor: 'mysql', host: 'rm-demo.mysql.rds', database: 'shop', params: { useSSL: true, connectTimeout: 5000 }, prefix: 'app.db', keepInput: true, mode: 288 },
    { AccountName: 'demo', AccountPassword: 'pw' },
  );
  assert.deepEqual(out.map((f) => f.path), ['db', 'application.yaml']);
  assert.equal(out[1].mode, 0o440);
  assert.equal(
    text(out[1]),
    'app:\n  db:\n    url: "jdbc:mysql://rm-demo.mysql.rds:3306/shop?connectTimeout=5000&useSSL=true"\n    username: "demo"\n    password: "pw"\n',
  );
});

test('sqlserver URL shape', () => {
  const [out] = run({ vendor: 'sqlserver', params: { encrypt: true } });
  assert.match(text(out), /url: "jdbc:sqlserver:\/\/db.internal:5432;databaseName=orders;encrypt=true"/);
});

test('missing and mistyped fields are all named, never their values', () => {
  const msg = fails(() => run({}, { username: 'app', password: 42, port: 'x' }), 'invalid-input');
  assert.match(msg, /field `password` is a number, expected a string/);
  assert.match(msg, /none of the fields `host` is in `db`/);
  assert.match(msg, /none of the fields `dbname`, `database` is in `db`/);
  assert.match(msg, /field `port` is not a port number/);
  assert.doesNotMatch(msg, /app|42/);
});

test('a host with URL syntax in the secret is refused without echoing it', () => {
  const msg = fails(() => run({}, { ...SECRET, host: 'evil/path?x=' }), 'invalid-input');
  assert.match(msg, /`host` is not a host name/);
  assert.doesNotMatch(msg, /evil/);
});

test('not JSON input', () => {
  const cfg = parseConfig('{}');
  const msg = fails(() => transform(cfg, [{ path: 'db', contents: new TextEncoder().encode('{nope'), mode: undefined }]), 'invalid-input');
  assert.equal(msg, 'file `db` is not UTF-8 JSON');
});

test('config: every problem at once, unknown fields named', () => {
  const msg = fails(() => parseConfig(JSON.stringify({ vendor: 'oracle', output: '/abs', port: 0, mode: 999, colour: 1, params: { 'a b': {} } })), 'invalid-config');
  for (const part of ['`colour`: unknown field', '`vendor`: must be one of postgresql, mysql, sqlserver', '`output`: must be a relative path', '`port`:', '`mode`:', '`params.a b`: not a valid parameter name', '`params.a b`: must be a string']) {
    assert.ok(msg.includes(part), `${part} missing in: ${msg}`);
  }
});

test('config: empty and null are the defaults; not JSON is invalid-config', () => {
  assert.equal(parseConfig('').vendor, 'postgresql');
  assert.equal(parseConfig('null').output, 'application.yaml');
  fails(() => parseConfig('{'), 'invalid-config');
});
