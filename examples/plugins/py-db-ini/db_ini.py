"""Pure logic of the `py-db-ini` plugin: a JSON database secret -> an INI option file.

No WIT imports here, so the plain interpreter can unit-test it (`python3 -m unittest`).
Messages name config fields and JSON keys, never secret values.
"""

import json
import re

#: INI key -> secret fields tried in order (the first present wins). RDS-managed
#: secrets use `AccountName` / `AccountPassword`.
DEFAULT_KEYS = {
    "user": ["username", "user", "AccountName"],
    "password": ["password", "AccountPassword"],
    "host": ["host"],
    "port": ["port"],
}

KNOWN_FIELDS = ("output", "section", "keys", "settings", "quote", "input", "keepInput", "mode")
INI_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
SECTION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_. -]*$")
MAX_MODE = 0o777


class PluginError(Exception):
    """An error for the user; `kind` is `invalid-config`, `invalid-input` or `failed`."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def parse_config(text):
    """Parses and validates the step's config (JSON text); reports every problem at once."""
    try:
        raw = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        # The position only: the config is not secret, but keep the habit.
        raise PluginError("invalid-config", f"config is not valid JSON (line {e.lineno} column {e.colno})")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PluginError("invalid-config", f"config must be an object, got {type_name(raw)}")
    problems = []
    for name in raw:
        if name not in KNOWN_FIELDS:
            problems.append(f"`{name}`: unknown field, expected one of {', '.join(KNOWN_FIELDS)}")
    cfg = {
        "output": raw.get("output", "db.ini"),
        "section": raw.get("section", "client"),
        "keys": raw.get("keys", DEFAULT_KEYS),
        "settings": raw.get("settings", {}),
        "quote": raw.get("quote", True),
        "input": raw.get("input"),
        "keepInput": raw.get("keepInput", False),
        "mode": raw.get("mode"),
    }
    if not isinstance(cfg["output"], str) or (why := path_problem(cfg["output"])):
        problems.append(f"`output`: {why if isinstance(cfg['output'], str) else 'must be a string'}")
    if not isinstance(cfg["section"], str) or not SECTION.match(cfg["section"]):
        problems.append("`section`: must be letters, digits, `_`, `.`, `-` or spaces (e.g. `client`)")
    keys = cfg["keys"]
    if not isinstance(keys, dict) or not keys:
        problems.append("`keys`: must be a non-empty map of INI key -> secret field (or list of fields)")
    else:
        normalized = {}
        for key, fields in keys.items():
            if not INI_KEY.match(key):
                problems.append(f"`keys.{key}`: not a valid INI key (letters, digits, `_`, `.`, `-`)")
            if isinstance(fields, str):
                fields = [fields]
            if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
                problems.append(f"`keys.{key}`: must be a field name or a non-empty list of field names")
                continue
            normalized[key] = fields
        cfg["keys"] = normalized
    settings = cfg["settings"]
    if not isinstance(settings, dict):
        problems.append("`settings`: must be a map of INI key -> fixed value")
    else:
        for key, value in settings.items():
            if not INI_KEY.match(key):
                problems.append(f"`settings.{key}`: not a valid INI key (letters, digits, `_`, `.`, `-`)")
            if isinstance(keys, dict) and key in keys:
                problems.append(f"`settings.{key}`: also set by `keys`")
            if not isinstance(value, (str, int, float, bool)) or (isinstance(value, str) and has_line_break(value)):
                problems.append(f"`settings.{key}`: must be a single-line string, number or boolean")
    if not isinstance(cfg["quote"], bool):
        problems.append("`quote`: must be true or false")
    if not isinstance(cfg["keepInput"], bool):
        problems.append("`keepInput`: must be true or false")
    if cfg["input"] is not None and (not isinstance(cfg["input"], str) or path_problem(cfg["input"])):
        problems.append("`input`: must be the name of an input file")
    mode = cfg["mode"]
    if mode is not None and (isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= MAX_MODE):
        problems.append(f"`mode`: must be an integer from 0 to {MAX_MODE} (0o777); write modes in decimal, e.g. 384 for 0o600")
    if problems:
        raise PluginError("invalid-config", "; ".join(problems))
    return cfg


def render(cfg, secret, file_name):
    """The INI text for one secret (a dict); every missing or unusable field is reported at once."""
    if not isinstance(secret, dict):
        raise PluginError("invalid-input", f"file `{file_name}` must hold a JSON object, got {type_name(secret)}")
    lines = [f"[{cfg['section']}]"]
    problems = []
    for key, fields in cfg["keys"].items():
        found = next((f for f in fields if f in secret and secret[f] is not None), None)
        if found is None:
            problems.append(f"`{key}`: none of the fields {', '.join('`' + f + '`' for f in fields)} is in `{file_name}`")
            continue
        value = secret[found]
        if isinstance(value, (dict, list)):
            problems.append(f"`{key}`: field `{found}` is {type_name(value)}, expected a string, number or boolean")
            continue
        text = scalar(value)
        if has_line_break(text):
            problems.append(f"`{key}`: field `{found}` contains a line break, which an INI file cannot hold")
            continue
        lines.append(f"{key} = {quoted(text) if cfg['quote'] else text}")
    if problems:
        raise PluginError("invalid-input", "; ".join(problems))
    for key, value in cfg["settings"].items():
        lines.append(f"{key} = {scalar(value)}")
    return "\n".join(lines) + "\n"


def transform(cfg, files):
    """`files` is a list of (path, bytes, mode); returns the output list in the same shape."""
    path, contents, mode = pick_input(cfg["input"], files)
    try:
        secret = json.loads(contents.decode("utf-8"))
    except UnicodeDecodeError:
        raise PluginError("invalid-input", f"file `{path}` is not UTF-8 text")
    except json.JSONDecodeError as e:
        raise PluginError("invalid-input", f"file `{path}` is not valid JSON (syntax error at line {e.lineno} column {e.colno})")
    out = []
    if cfg["keepInput"]:
        if cfg["output"] == path:
            raise PluginError("invalid-config", f"`output`: `{path}` would overwrite the kept input file")
        out.append((path, contents, mode))
    out.append((cfg["output"], render(cfg, secret, path).encode("utf-8"), cfg["mode"]))
    return out


def pick_input(name, files):
    if name is None:
        if len(files) != 1:
            raise PluginError("invalid-input", f"expected exactly one input file, got {len(files)}; set `input`")
        return files[0]
    for f in files:
        if f[0] == name:
            return f
    raise PluginError("invalid-input", f"`input`: no input file `{name}` (have: {', '.join(f[0] for f in files)})")


def scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def quoted(text):
    """MySQL option-file quoting: backslash and double quote escaped inside double quotes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def has_line_break(text):
    return "\n" in text or "\r" in text


def path_problem(path):
    if not path:
        return "must not be empty"
    if path.startswith("/"):
        return "must be a relative path"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "must not contain empty, `.` or `..` segments"
    if "\\" in path or "\0" in path:
        return "must not contain `\\` or NUL"
    return None


def type_name(value):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
