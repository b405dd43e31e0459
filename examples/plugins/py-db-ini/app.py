"""WIT glue of the `py-db-ini` plugin (world `transform-plugin` of wit/transform.wit).

componentize-py turns this module into a component; the logic lives in `db_ini.py`. Every module is
imported at the top: the build (`--stub-wasi`) snapshots the interpreter after these imports, and an
import at call time would need the filesystem, which the plugin does not have.
"""

import db_ini
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, types

NAME = "py-db-ini"
VERSION = "0.1.0"


def as_wit_error(e):
    """Maps a PluginError onto the WIT `transform-error` variant."""
    variant = {
        "invalid-config": types.TransformError_InvalidConfig,
        "invalid-input": types.TransformError_InvalidInput,
    }.get(e.kind, types.TransformError_Failed)
    return Err(variant(e.message))


class Transformer(exports.Transformer):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(NAME, VERSION, "Writes a JSON database secret as an INI option file (Python)")

    def validate_config(self, config: str) -> None:
        try:
            db_ini.parse_config(config)
        except db_ini.PluginError as e:
            raise as_wit_error(e)
        except Exception as e:  # an uncaught exception would be a bare trap ("plugin crashed")
            raise Err(types.TransformError_Failed(f"internal error ({type(e).__name__})"))

    def transform(self, config: str, files):
        try:
            cfg = db_ini.parse_config(config)
            out = db_ini.transform(cfg, [(f.path, bytes(f.contents), f.mode) for f in files])
        except db_ini.PluginError as e:
            raise as_wit_error(e)
        except Exception as e:  # a bug in the plugin: say where, never what the data was
            raise Err(types.TransformError_Failed(f"internal error ({type(e).__name__})"))
        log.log(
            types.LogLevel.INFO,
            f"wrote {len(cfg['keys']) + len(cfg['settings'])} keys to section [{cfg['section']}] of `{cfg['output']}`",
        )
        return [types.File(path, contents, mode) for path, contents, mode in out]
