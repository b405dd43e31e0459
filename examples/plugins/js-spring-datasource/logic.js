// Pure logic of the `js-spring-datasource` plugin: a JSON database secret -> a Spring Boot
// `application.yaml` (spring.datasource.url/username/password).
//
// No WIT imports here, so `node --test` can run it directly. Messages name config fields and JSON
// keys, never secret values.

export const KNOWN_FIELDS = ['output', 'vendor', 'database', 'host', 'port', 'params', 'prefix', 'input', 'keepInput', 'mode'];

/** Default port and JDBC URL shape per vendor. */
export const VENDORS = {
  postgresql: { port: 5432, url: (h, p, d) => `jdbc:postgresql://${h}:${p}/${d}` },
  mysql: { port: 3306, url: (h, p, d) => `jdbc:mysql://${h}:${p}/${d}` },
  sqlserver: { port: 1433, url: (h, p, d) => `jdbc:sqlserver://${h}:${p};databaseName=${d}` },
};

/** Secret fields tried in order (the first present wins); RDS-managed secrets use Account*. */
const FIELDS = {
  username: ['username', 'user', 'AccountName'],
  password: ['password', 'AccountPassword'],
  host: ['host'],
  port: ['port'],
  database: ['dbname', 'database'],
};

const MAX_MODE = 0o777;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$/;
const DATABASE = /^[A-Za-z0-9_$-]+$/;
const PARAM = /^[A-Za-z0-9_.-]+$/;
const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** An error for the user; `kind` is the WIT variant: invalid-config, invalid-input or failed. */
export class PluginError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** Parses and validates the step's config (JSON text); reports every problem at once. */
export function parseConfig(text) {
  let raw;
  try {
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new PluginError('invalid-config', 'config is not valid JSON');
  }
  if (raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PluginError('invalid-config', `config must be an object, got ${typeName(raw)}`);
  }
  const problems = [];
  for (const name of Object.keys(raw)) {
    if (!KNOWN_FIELDS.includes(name)) {
      problems.push(`\`${name}\`: unknown field, expected one of ${KNOWN_FIELDS.join(', ')}`);
    }
  }
  const cfg = {
    output: raw.output ?? 'application.yaml',
    vendor: raw.vendor ?? 'postgresql',
    database: raw.database ?? null,
    host: raw.host ?? null,
    port: raw.port ?? null,
    params: raw.params ?? {},
    prefix: raw.prefix ?? 'spring.datasource',
    input: raw.input ?? null,
    keepInput: raw.keepInput ?? false,
    mode: raw.mode ?? null,
  };
  const why = typeof cfg.output === 'string' ? pathProblem(cfg.output) : 'must be a string';
  if (why) problems.push(`\`output\`: ${why}`);
  if (!Object.hasOwn(VENDORS, cfg.vendor)) {
    problems.push(`\`vendor\`: must be one of ${Object.keys(VENDORS).join(', ')}`);
  }
  if (cfg.database !== null && (typeof cfg.database !== 'string' || !DATABASE.test(cfg.database))) {
    problems.push('`database`: must be a database name (letters, digits, `_`, `$`, `-`)');
  }
  if (cfg.host !== null && (typeof cfg.host !== 'string' || !HOST.test(cfg.host))) {
    problems.push('`host`: must be a host name or IP address');
  }
  if (cfg.port !== null && !validPort(cfg.port)) problems.push('`port`: must be an integer from 1 to 65535');
  if (typeof cfg.params !== 'object' || cfg.params === null || Array.isArray(cfg.params)) {
    problems.push('`params`: must be a map of JDBC parameter -> value');
  } else {
    for (const [k, v] of Object.entries(cfg.params)) {
      if (!PARAM.test(k)) problems.push(`\`params.${k}\`: not a valid parameter name (letters, digits, \`_\`, \`.\`, \`-\`)`);
      if (!['string', 'number', 'boolean'].includes(typeof v)) {
        problems.push(`\`params.${k}\`: must be a string, number or boolean`);
      }
    }
  }
  if (typeof cfg.prefix !== 'string' || !PREFIX.test(cfg.prefix)) {
    problems.push('`prefix`: must be dot-separated YAML keys, e.g. `spring.datasource`');
  }
  if (cfg.input !== null && (typeof cfg.input !== 'string' || pathProblem(cfg.input))) {
    problems.push('`input`: must be the name of an input file');
  }
  if (typeof cfg.keepInput !== 'boolean') problems.push('`keepInput`: must be true or false');
  if (cfg.mode !== null && !(Number.isInteger(cfg.mode) && cfg.mode >= 0 && cfg.mode <= MAX_MODE)) {
    problems.push(`\`mode\`: must be an integer from 0 to ${MAX_MODE} (0o777); write modes in decimal, e.g. 384 for 0o600`);
  }
  if (problems.length > 0) throw new PluginError('invalid-config', problems.join('; '));
  return cfg;
}

/** Renders the YAML for one secret object; every missing or unusable field is reported at once. */
export function render(cfg, secret, fileName) {
  if (typeof secret !== 'object' || secret === null || Array.isArray(secret)) {
    throw new PluginError('invalid-input', `file \`${fileName}\` must hold a JSON object, got ${typeName(secret)}`);
  }
  const problems = [];
  const pick = (part, required) => {
    for (const field of FIELDS[part]) {
      const v = secret[field];
      if (v === undefined || v === null) continue;
      if (typeof v === 'string' || (typeof v === 'number' && part === 'port')) return [field, String(v)];
      problems.push(`field \`${field}\` is ${typeName(v)}, expected a string${part === 'port' ? ' or number' : ''}`);
      return [field, null];
    }
    if (required) {
      problems.push(`none of the fields ${FIELDS[part].map((f) => `\`${f}\``).join(', ')} is in \`${fileName}\``);
    }
    return [null, null];
  };
  const [, username] = pick('username', true);
  const [, password] = pick('password', true);
  const host = cfg.host ?? pick('host', true)[1];
  const [portField, portText] = cfg.port !== null ? [null, String(cfg.port)] : pick('port', false);
  const database = cfg.database ?? pick('database', true)[1];
  if (host !== null && !HOST.test(host)) problems.push('the secret\'s `host` is not a host name or IP address');
  if (portField && portText !== null && !validPort(Number(portText))) {
    problems.push(`field \`${portField}\` is not a port number (1 to 65535)`);
  }
  if (database !== null && !DATABASE.test(database)) {
    problems.push('the secret\'s database name has characters a JDBC URL cannot hold');
  }
  if (problems.length > 0) throw new PluginError('invalid-input', problems.join('; '));
  const vendor = VENDORS[cfg.vendor];
  let url = vendor.url(host, portText ?? vendor.port, database);
  const params = Object.entries(cfg.params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (params.length > 0) {
    const sep = cfg.vendor === 'sqlserver' ? ';' : '&';
    const start = cfg.vendor === 'sqlserver' ? ';' : '?';
    url += start + params.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join(sep);
  }
  return yaml(cfg.prefix.split('.'), { url, username, password });
}

/** Runs one step: `files` is a list of {path, contents (Uint8Array), mode}. */
export function transform(cfg, files) {
  const input = pickInput(cfg.input, files);
  let secret;
  try {
    secret = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input.contents));
  } catch {
    throw new PluginError('invalid-input', `file \`${input.path}\` is not UTF-8 JSON`);
  }
  const out = [];
  if (cfg.keepInput) {
    if (cfg.output === input.path) {
      throw new PluginError('invalid-config', `\`output\`: \`${input.path}\` would overwrite the kept input file`);
    }
    out.push(input);
  }
  out.push({ path: cfg.output, contents: new TextEncoder().encode(render(cfg, secret, input.path)), mode: cfg.mode ?? undefined });
  return out;
}

function pickInput(name, files) {
  if (name === null) {
    if (files.length !== 1) throw new PluginError('invalid-input', `expected exactly one input file, got ${files.length}; set \`input\``);
    return files[0];
  }
  const found = files.find((f) => f.path === name);
  if (!found) {
    throw new PluginError('invalid-input', `\`input\`: no input file \`${name}\` (have: ${files.map((f) => f.path).join(', ')})`);
  }
  return found;
}

/** Nested block YAML; values are JSON strings, which YAML reads as double-quoted scalars. */
function yaml(keys, leaves) {
  const lines = keys.map((k, i) => `${'  '.repeat(i)}${k}:`);
  const indent = '  '.repeat(keys.length);
  for (const [k, v] of Object.entries(leaves)) lines.push(`${indent}${k}: ${JSON.stringify(v)}`);
  return lines.join('\n') + '\n';
}

function validPort(p) {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}

function pathProblem(path) {
  if (path === '') return 'must not be empty';
  if (path.startsWith('/')) return 'must be a relative path';
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'must not contain empty, `.` or `..` segments';
  if (path.includes('\\') || path.includes('\0')) return 'must not contain `\\` or NUL';
  return null;
}

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return { object: 'an object', string: 'a string', number: 'a number', boolean: 'a boolean' }[typeof v] ?? typeof v;
}
