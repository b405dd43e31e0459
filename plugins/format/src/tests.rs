use super::*;
use serde_json::{Value, json};
use transform_sdk::{ErrorKind, testing};

fn run(config: Value, files: Vec<File>) -> Result<Files, Error> {
    testing::run::<Format>(&config.to_string(), files)
}

fn one(config: Value, input: &str) -> String {
    let out = run(config, vec![File::new("in", input)]).unwrap();
    assert_eq!(out.len(), 1, "{:?}", out.paths());
    String::from_utf8(out.into_vec().remove(0).contents).unwrap()
}

#[test]
fn json_yaml_round_trip() {
    let json = r#"{"a":{"b":[1,2.5,"x"],"c":null},"d":true,"e":"multi\nline","f":"0123"}"#;
    let yaml = one(json!({"op": "json-to-yaml"}), json);
    assert!(yaml.contains("a:\n  b:\n  - 1\n  - 2.5\n  - x\n"), "{yaml}");
    assert!(
        yaml.contains("f: '0123'"),
        "strings that look like numbers stay strings: {yaml}"
    );
    let back = one(json!({"op": "yaml-to-json"}), &yaml);
    assert_eq!(
        serde_json::from_str::<Value>(&back).unwrap(),
        serde_json::from_str::<Value>(json).unwrap()
    );
    let pretty = one(json!({"op": "yaml-to-json", "pretty": true}), "k: v\n");
    assert_eq!(pretty, "{\n  \"k\": \"v\"\n}");
}

#[test]
fn bad_yaml_reports_position_not_content() {
    let e = run(
        json!({"op": "yaml-to-json"}),
        vec![File::new("in", "a: [hunter2\nb: c")],
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.message()
            .starts_with("file `in` is not a single YAML document"),
        "{e}"
    );
    assert!(e.message().contains("line"), "{e}");
    assert!(!e.message().contains("hunter2"), "{e}");
    let e = run(
        json!({"op": "json-to-yaml"}),
        vec![File::new("in", "hunter2: x")],
    )
    .unwrap_err();
    assert!(
        !e.message().contains("hunter2") && e.message().contains("not valid JSON"),
        "{e}"
    );
}

#[test]
fn dotenv_quotes_flattens_and_prefixes() {
    let input = r##"{"db": {"host": "h.internal", "port": 5432}, "pass": "p a$s\"#\n", "empty": "", "on": true}"##;
    let out = one(
        json!({"op": "json-to-dotenv", "prefix": "app_", "uppercase": true, "output": ".env"}),
        input,
    );
    assert_eq!(
        out,
        "APP_DB_HOST=h.internal\nAPP_DB_PORT=5432\nAPP_EMPTY=\"\"\nAPP_ON=true\nAPP_PASS=\"p a\\$s\\\"#\\n\"\n"
    );
}

#[test]
fn dotenv_rejects_bad_keys_all_at_once_and_arrays() {
    let e = run(
        json!({"op": "json-to-dotenv"}),
        vec![File::new(
            "in",
            r#"{"api-key": "x", "2fa": "y", "ok": "z"}"#,
        )],
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("`2FA`, `API-KEY`"), "{e}");
    let e = run(
        json!({"op": "json-to-dotenv"}),
        vec![File::new("in", r#"{"hosts": ["a"]}"#)],
    )
    .unwrap_err();
    assert!(e.message().contains("key `hosts` holds an array"), "{e}");
    let e = run(
        json!({"op": "json-to-dotenv", "uppercase": true}),
        vec![File::new("in", r#"{"a": "1", "A": "2"}"#)],
    )
    .unwrap_err();
    assert!(e.message().contains("both become `A`"), "{e}");
    let e = run(
        json!({"op": "json-to-dotenv"}),
        vec![File::new("in", "[1]")],
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "file `in` must hold a JSON object, but holds an array"
    );
}

#[test]
fn properties_escape_and_flatten() {
    let input = r#"{"db": {"url": "jdbc:mysql://h:3306/x?a=b", "hosts": ["h1", "h2"]}, "key with space": " lead", "uni": "pässwörd#1!"}"#;
    let out = one(json!({"op": "json-to-properties"}), input);
    assert_eq!(
        out,
        "db.hosts[0]=h1\ndb.hosts[1]=h2\ndb.url=jdbc\\:mysql\\://h\\:3306/x?a\\=b\nkey\\ with\\ space=\\ lead\nuni=p\\u00E4ssw\\u00F6rd\\#1\\!\n"
    );
    let utf8 = one(
        json!({"op": "json-to-properties", "escapeUnicode": false, "separator": "_"}),
        r#"{"a": {"b": "ä"}}"#,
    );
    assert_eq!(utf8, "a_b=ä\n");
}

#[test]
fn base64_both_ways() {
    let bytes: Vec<u8> = (0u8..=255).collect();
    let out = run(
        json!({"op": "base64-encode", "output": "b64"}),
        vec![File::new("bin", bytes.clone())],
    )
    .unwrap();
    let encoded = out.get("b64").unwrap().clone();
    assert!(
        encoded.contents.ends_with(b"+/w=="),
        "standard alphabet, padded"
    );
    let back = run(
        json!({"op": "base64-decode", "output": "bin"}),
        vec![encoded],
    )
    .unwrap();
    assert_eq!(back.get("bin").unwrap().contents, bytes);

    // Wrapped, unpadded and URL-safe input decodes too.
    assert_eq!(
        one(json!({"op": "base64-decode"}), "aGVs\nbG8g\r\nd29y bGQ"),
        "hello world"
    );
    let url = run(
        json!({"op": "base64-decode", "urlSafe": true}),
        vec![File::new("in", "-_8")],
    )
    .unwrap();
    assert_eq!(url.get("in").unwrap().contents, [0xfb, 0xff]);
    assert_eq!(
        one(json!({"op": "base64-encode", "urlSafe": true}), "\u{fb}"),
        "w7s="
    );
}

#[test]
fn base64_errors_give_offsets_only() {
    let e = run(
        json!({"op": "base64-decode"}),
        vec![File::new("in", "aGVs*G8=")],
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "file `in` is not valid base64 (standard alphabet): an invalid character at offset 4 (whitespace removed)"
    );
}

const LEAF: &str = "-----BEGIN CERTIFICATE-----\nTEVBRg==\n-----END CERTIFICATE-----\n";
const INTER: &str = "-----BEGIN CERTIFICATE-----\nSU5URVI=\n-----END CERTIFICATE-----\n";
const ROOT: &str = "-----BEGIN CERTIFICATE-----\nUk9PVA==\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nS0VZ\n-----END EC PRIVATE KEY-----\n";

fn pem(config: Value, bundle: String) -> Result<Files, Error> {
    run(config, vec![File::new("bundle.pem", bundle)])
}

fn text(files: &Files, name: &str) -> String {
    String::from_utf8(
        files
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .contents
            .clone(),
    )
    .unwrap()
}

#[test]
fn pem_one_cert_and_key() {
    let out = pem(
        json!({"op": "pem-split", "keyMode": 384}),
        format!("{KEY}{LEAF}"),
    )
    .unwrap();
    assert_eq!(
        out.paths(),
        ["tls.crt", "tls.key"],
        "no ca.crt without a chain"
    );
    assert_eq!(text(&out, "tls.crt"), LEAF);
    assert_eq!(text(&out, "tls.key"), KEY);
    assert_eq!(out.get("tls.key").unwrap().mode, Some(0o600));
}

#[test]
fn pem_two_and_three_certs() {
    let out = pem(json!({"op": "pem-split"}), format!("{LEAF}{INTER}{KEY}")).unwrap();
    assert_eq!(out.paths(), ["tls.crt", "tls.key", "ca.crt"]);
    assert_eq!(text(&out, "ca.crt"), INTER);

    let cfg = json!({"op": "pem-split", "cert": "server.crt", "key": "server.key", "ca": "chain.pem", "keepInput": true});
    let out = pem(cfg, format!("{LEAF}{INTER}{ROOT}{KEY}")).unwrap();
    assert_eq!(
        out.paths(),
        ["bundle.pem", "server.crt", "server.key", "chain.pem"]
    );
    assert_eq!(text(&out, "server.crt"), LEAF);
    assert_eq!(text(&out, "chain.pem"), format!("{INTER}{ROOT}"));

    let out = pem(
        json!({"op": "pem-split", "fullChain": true}),
        format!("{LEAF}{INTER}{ROOT}{KEY}"),
    )
    .unwrap();
    assert_eq!(text(&out, "tls.crt"), format!("{LEAF}{INTER}{ROOT}"));
}

#[test]
fn pem_key_rules() {
    for label in ["PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"] {
        let key = format!("-----BEGIN {label}-----\nS0VZ\n-----END {label}-----\n");
        let out = pem(json!({"op": "pem-split"}), format!("{LEAF}{key}")).unwrap();
        assert_eq!(text(&out, "tls.key"), key);
    }
    let e = pem(json!({"op": "pem-split"}), LEAF.to_string()).unwrap_err();
    assert!(e.message().contains("has no PRIVATE KEY block"), "{e}");
    let out = pem(
        json!({"op": "pem-split", "requireKey": false}),
        format!("{LEAF}{ROOT}"),
    )
    .unwrap();
    assert_eq!(out.paths(), ["tls.crt", "ca.crt"]);
    let e = pem(json!({"op": "pem-split"}), format!("{LEAF}{KEY}{KEY}")).unwrap_err();
    assert!(e.message().contains("has 2 private key blocks"), "{e}");
    let e = pem(json!({"op": "pem-split"}), KEY.to_string()).unwrap_err();
    assert!(e.message().contains("has no CERTIFICATE block"), "{e}");
    let params = "-----BEGIN EC PARAMETERS-----\nUA==\n-----END EC PARAMETERS-----\n";
    pem(json!({"op": "pem-split"}), format!("{params}{LEAF}{KEY}")).unwrap();
    assert!(
        testing::take_logs()
            .iter()
            .any(|(_, m)| m.contains("ignoring a `EC PARAMETERS` block"))
    );
}

#[test]
fn select_picks_and_renames() {
    let input = r#"{"AccountName": "app", "AccountPassword": "pw", "Other": 1}"#;
    let out = one(
        json!({"op": "select", "keys": {"username": "AccountName", "password": "AccountPassword"}}),
        input,
    );
    assert_eq!(out, r#"{"password":"pw","username":"app"}"#);
    let e = run(
        json!({"op": "select", "keys": {"u": "user", "p": "pass"}}),
        vec![File::new("in", input)],
    )
    .unwrap_err();
    assert!(
        e.message()
            .starts_with("file `in` has no key `pass`, `user` (keys present: `AccountName`"),
        "{e}"
    );
    assert!(!e.message().contains("pw"), "{e}");
    let out = one(
        json!({"op": "select", "keys": {"u": "user", "n": "AccountName"}, "onMissing": "skip"}),
        input,
    );
    assert_eq!(out, r#"{"n":"app"}"#);
}

#[test]
fn output_naming_keep_input_and_mode() {
    let out = run(
        json!({"op": "json-to-yaml", "output": "c.yaml", "keepInput": true, "mode": 416}),
        vec![File::new("c.json", "{}")],
    )
    .unwrap();
    assert_eq!(out.paths(), ["c.json", "c.yaml"]);
    assert_eq!(out.get("c.yaml").unwrap().mode, Some(0o640));
    // Replacing in place keeps the input's mode.
    let out = run(
        json!({"op": "base64-decode"}),
        vec![File::new("k", "YQ==").with_mode(Some(0o400))],
    )
    .unwrap();
    assert_eq!(out.get("k").unwrap().mode, Some(0o400));
}

#[test]
fn config_errors() {
    let cases = [
        (
            json!({"op": "json-to-toml"}),
            "unknown variant `json-to-toml`, expected one of `json-to-yaml`",
        ),
        (json!({}), "missing field `op`"),
        (
            json!({"op": "json-to-yaml", "pretty": true}),
            "unknown field `pretty`",
        ),
        (json!({"op": "select"}), "missing field `keys`"),
        (
            json!({"op": "select", "keys": {}}),
            "`keys`: list at least one key",
        ),
        (
            json!({"op": "json-to-dotenv", "prefix": "1x"}),
            "`prefix`: `1x` must itself be a valid variable name",
        ),
        (
            json!({"op": "json-to-dotenv", "separator": "."}),
            "`separator`: only letters",
        ),
        (
            json!({"op": "pem-split", "cert": "x", "ca": "x"}),
            "three different file names",
        ),
        (
            json!({"op": "pem-split", "keyMode": 999}),
            "`keyMode`: 999 is not a valid file mode",
        ),
        (
            json!({"op": "base64-encode", "output": "/abs"}),
            "`output`: the path is absolute",
        ),
        (
            json!({"op": "base64-encode", "keepInput": true}),
            "`keepInput: true` needs an `output`",
        ),
    ];
    for (cfg, want) in cases {
        let e = testing::validate::<Format>(&cfg.to_string()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
        assert!(e.message().contains(want), "{cfg}: {e}");
    }
}

#[test]
fn dotenv_upper_cases_by_default() {
    let input = r#"{"username": "app", "password": "p@ss word"}"#;
    assert_eq!(
        one(json!({"op": "json-to-dotenv"}), input),
        "PASSWORD=\"p@ss word\"\nUSERNAME=app\n"
    );
    let lower = one(
        json!({"op": "json-to-dotenv", "uppercase": false}),
        r#"{"k": "v"}"#,
    );
    assert_eq!(lower, "k=v\n");
}
