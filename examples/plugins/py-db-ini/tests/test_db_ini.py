"""Unit tests of the plugin logic with the plain interpreter: `python3 -m unittest discover -s tests -t .`"""

import json
import unittest

import db_ini
from db_ini import PluginError

SECRET = {"username": "app", "password": 'p"a\\ss word', "host": "db.internal", "port": 3306}


def run(config, secret=SECRET, name="db-credentials"):
    cfg = db_ini.parse_config(json.dumps(config))
    return db_ini.transform(cfg, [(name, json.dumps(secret).encode(), None)])


class Render(unittest.TestCase):
    def test_defaults_write_a_quoted_client_section(self):
        [(path, contents, mode)] = run({})
        self.assertEqual(path, "db.ini")
        self.assertIsNone(mode)
        self.assertEqual(
            contents.decode(),
            '[client]\nuser = "app"\npassword = "p\\"a\\\\ss word"\nhost = "db.internal"\nport = "3306"\n',
        )

    def test_rds_fields_custom_keys_settings_and_mode(self):
        out = run(
            {
                "section": "mysql",
                "keys": {"user": ["username", "AccountName"], "password": "AccountPassword"},
                "settings": {"ssl-mode": "REQUIRED", "connect-timeout": 5},
                "quote": False,
                "mode": 384,
                "output": "conf/my.cnf",
                "keepInput": True,
            },
            secret={"AccountName": "demo", "AccountPassword": "s3cret"},
        )
        self.assertEqual([p for p, _, _ in out], ["db-credentials", "conf/my.cnf"])
        self.assertEqual(
            out[1][1].decode(),
            "[mysql]\nuser = demo\npassword = s3cret\nssl-mode = REQUIRED\nconnect-timeout = 5\n",
        )
        self.assertEqual(out[1][2], 0o600)

    def test_missing_fields_are_all_named_without_values(self):
        with self.assertRaises(PluginError) as e:
            run({}, secret={"username": "app", "password": ["not", "text"]})
        self.assertEqual(e.exception.kind, "invalid-input")
        msg = e.exception.message
        self.assertIn("`password`: field `password` is an array", msg)
        self.assertIn("`host`: none of the fields `host` is in `db-credentials`", msg)
        self.assertIn("`port`", msg)
        self.assertNotIn("app", msg.replace("`db-credentials`", ""))

    def test_line_breaks_are_refused_without_echoing_the_value(self):
        with self.assertRaises(PluginError) as e:
            run({}, secret={**SECRET, "password": "top\nsecret"})
        self.assertIn("`password`: field `password` contains a line break", e.exception.message)
        self.assertNotIn("secret", e.exception.message.replace("field", ""))

    def test_not_json_names_the_file_and_position(self):
        cfg = db_ini.parse_config("{}")
        with self.assertRaises(PluginError) as e:
            db_ini.transform(cfg, [("db", b"{oops", None)])
        self.assertEqual(e.exception.kind, "invalid-input")
        self.assertIn("file `db` is not valid JSON (syntax error at line 1 column 2)", e.exception.message)

    def test_several_inputs_need_input(self):
        cfg = db_ini.parse_config("{}")
        with self.assertRaises(PluginError) as e:
            db_ini.transform(cfg, [("a", b"{}", None), ("b", b"{}", None)])
        self.assertIn("set `input`", e.exception.message)


class Config(unittest.TestCase):
    def test_empty_and_null_configs_are_defaults(self):
        self.assertEqual(db_ini.parse_config("")["section"], "client")
        self.assertEqual(db_ini.parse_config("null")["output"], "db.ini")

    def test_every_problem_is_reported_at_once(self):
        with self.assertRaises(PluginError) as e:
            db_ini.parse_config(
                json.dumps(
                    {"output": "../x", "section": "a]b", "keys": {"bad key": "u"}, "mode": 1000, "colour": 1, "quote": "yes"}
                )
            )
        self.assertEqual(e.exception.kind, "invalid-config")
        msg = e.exception.message
        for part in ["`colour`: unknown field", "`output`:", "`section`:", "`keys.bad key`:", "`mode`:", "`quote`:"]:
            self.assertIn(part, msg)

    def test_settings_may_not_repeat_keys_or_break_lines(self):
        with self.assertRaises(PluginError) as e:
            db_ini.parse_config(json.dumps({"settings": {"user": "x", "a": "1\n2"}}))
        self.assertIn("`settings.user`: also set by `keys`", e.exception.message)
        self.assertIn("`settings.a`: must be a single-line", e.exception.message)

    def test_not_json(self):
        with self.assertRaises(PluginError) as e:
            db_ini.parse_config("{")
        self.assertEqual(e.exception.kind, "invalid-config")


if __name__ == "__main__":
    unittest.main()
