// WIT glue of the `js-spring-datasource` plugin (world `transform-plugin` of wit/transform.wit).
// componentize-js turns this module (and the relative modules it imports) into a component.

import { log } from 'alibabacloud:secrets-transform/log@0.1.0';
import { PluginError, parseConfig, transform as run } from './logic.js';

const NAME = 'js-spring-datasource';
const VERSION = '0.1.0';

/** A thrown `{tag, val}` becomes the `err` case of the WIT result (the transform-error variant). */
function asWitError(e) {
  if (e instanceof PluginError) return { tag: e.kind, val: e.message };
  // A bug in the plugin: name the exception type, never its message (it may quote data).
  return { tag: 'failed', val: `internal error (${e?.name ?? typeof e})` };
}

export const transformer = {
  info() {
    return { name: NAME, version: VERSION, description: 'Writes a JSON database secret as a Spring Boot datasource config (JavaScript)' };
  },

  validateConfig(config) {
    try {
      parseConfig(config);
    } catch (e) {
      throw asWitError(e);
    }
  },

  transform(config, files) {
    try {
      const cfg = parseConfig(config);
      const out = run(cfg, files);
      log('info', `wrote ${cfg.prefix}.{url,username,password} (${cfg.vendor}) to \`${cfg.output}\``);
      return out;
    } catch (e) {
      throw asWitError(e);
    }
  },
};
