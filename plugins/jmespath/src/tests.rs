use super::*;
use transform_sdk::{ErrorKind, testing};

const SECRET: &str = r#"{"username": "admin", "password": "p@ss w0rd", "port": 5432, "tls": true,
  "db": {"host": "db.internal", "replicas": ["r1", "r2"]}, "api-key": "k-1", "nothing": null}"#;

fn input() -> Vec<File> {
    vec![File::new("db-secret", SECRET)]
}

fn run(config: &str) -> Result<Files, Error> {
    testing::run::<Jmespath>(config, input())
}

fn text(files: &Files, name: &str) -> String {
    String::from_utf8(
        files
            .get(name)
            .unwrap_or_else(|| panic!("no file {name}"))
            .contents
            .clone(),
    )
    .unwrap()
}

#[test]
fn strings_raw_other_values_compact_json() {
    let out = run(
        r#"{"files": {"user": "username", "host": "db.host", "port": "port", "tls": "tls",
        "replicas": "db.replicas", "second": "db.replicas[1]", "db": "db", "key": "\"api-key\""}}"#,
    )
    .unwrap();
    assert_eq!(
        out.paths(),
        [
            "user", "host", "port", "tls", "replicas", "second", "db", "key"
        ]
    );
    assert_eq!(text(&out, "user"), "admin");
    assert_eq!(text(&out, "host"), "db.internal");
    assert_eq!(text(&out, "port"), "5432");
    assert_eq!(text(&out, "tls"), "true");
    assert_eq!(text(&out, "replicas"), r#"["r1","r2"]"#);
    assert_eq!(text(&out, "second"), "r2");
    assert_eq!(
        text(&out, "db"),
        r#"{"host":"db.internal","replicas":["r1","r2"]}"#
    );
    assert_eq!(text(&out, "key"), "k-1");
}

#[test]
fn host_sugar_shape_keeps_input_and_sets_modes() {
    let out = run(r#"{"files": {"u": "username", "p": {"expression": "password", "mode": 384}}, "keepInput": true}"#)
        .unwrap();
    assert_eq!(out.paths(), ["db-secret", "u", "p"]);
    assert_eq!(out.get("db-secret").unwrap().contents, SECRET.as_bytes());
    assert_eq!(out.get("p").unwrap().mode, Some(0o600));
    assert_eq!(out.get("u").unwrap().mode, None);
    assert_eq!(text(&out, "p"), "p@ss w0rd");
}

#[test]
fn missing_path_errors_naming_the_expression() {
    for expr in ["db.port", "nothing", "username.first"] {
        let cfg = format!(r#"{{"files": {{"x": "{expr}"}}}}"#);
        let e = run(&cfg).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.message()
                .contains(&format!("expression `{expr}` for file `x` matched nothing")),
            "{e}"
        );
        assert!(!e.message().contains("admin"), "{e}");
    }
}

#[test]
fn missing_path_skipped_on_request() {
    let out = run(r#"{"files": {"x": "db.port", "u": "username"}, "onMissing": "skip"}"#).unwrap();
    assert_eq!(out.paths(), ["u"]);
    let logs = testing::take_logs();
    assert!(
        logs.iter()
            .any(|(_, m)| m.contains("`db.port` matched nothing")),
        "{logs:?}"
    );
}

#[test]
fn bad_expression_fails_validation_with_parser_message() {
    let e = testing::validate::<Jmespath>(r#"{"files": {"x": "foo[", "y": "ok", "z": "a.."}}"#)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    let m = e.message();
    assert!(
        m.contains("`files.x`: invalid JMESPath expression `foo[`: Parse error"),
        "{m}"
    );
    assert!(
        m.contains("`files.z`: invalid JMESPath expression `a..`"),
        "all errors at once: {m}"
    );
    assert!(!m.contains("files.y"), "{m}");
}

#[test]
fn config_mistakes_are_reported() {
    let cases = [
        (r#"{"files": {}}"#, "list at least one output file"),
        (
            r#"{"files": {"../x": "a"}}"#,
            "`files.../x`: bad output file name",
        ),
        (
            r#"{"files": {"x": {"expression": "a", "mode": 1000}}}"#,
            "`files.x.mode`: 1000 is not a valid file mode",
        ),
        (r#"{"files": {"x": {"expr": "a"}}}"#, "unknown field `expr`"),
        (
            r#"{"files": {"x": 5}}"#,
            r#"expected an expression string or {"expression""#,
        ),
        (
            r#"{"files": {"x": "a", "x": "b"}}"#,
            "output file `x` is listed twice",
        ),
        (
            r#"{"files": {"x": "a"}, "onMissing": "ignore"}"#,
            "unknown variant `ignore`, expected `error` or `skip`",
        ),
        (r#"{"file": {"x": "a"}}"#, "unknown field `file`"),
        (
            r#"{"files": {"x": "a"}, "keepInput": true, "input": "x"}"#,
            "would overwrite the kept input file",
        ),
    ];
    for (cfg, want) in cases {
        let e = testing::validate::<Jmespath>(cfg).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{cfg}");
        assert!(e.message().contains(want), "{cfg}: {e}");
    }
}

#[test]
fn non_json_input_is_rejected_without_echoing_it() {
    let e = testing::run::<Jmespath>(
        r#"{"files": {"x": "a"}}"#,
        vec![File::new("plain", "hunter2 is not json")],
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        e.message(),
        "file `plain` is not valid JSON (syntax error at line 1 column 1)"
    );
}

#[test]
fn picks_input_by_name_and_rejects_ambiguity() {
    let files = vec![
        File::new("a", r#"{"v": "from-a"}"#),
        File::new("b", r#"{"v": "from-b"}"#),
    ];
    let out =
        testing::run::<Jmespath>(r#"{"files": {"x": "v"}, "input": "b"}"#, files.clone()).unwrap();
    assert_eq!(text(&out, "x"), "from-b");
    let e = testing::run::<Jmespath>(r#"{"files": {"x": "v"}}"#, files).unwrap_err();
    assert!(e.message().contains("set `input`"), "{e}");
}

#[test]
fn kept_input_cannot_be_overwritten() {
    let e = run(r#"{"files": {"db-secret": "username"}, "keepInput": true}"#).unwrap_err();
    assert!(
        e.message()
            .contains("would overwrite the kept input file `db-secret`"),
        "{e}"
    );
}

#[test]
fn runtime_type_errors_do_not_leak_values() {
    let e = run(r#"{"files": {"x": "abs(username)"}}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Failed);
    assert!(
        e.message().contains("expects type number, given string"),
        "{e}"
    );
    assert!(!e.message().contains("admin"), "{e}");
}

#[test]
fn functions_and_projections_work() {
    let out = run(r#"{"files": {"n": "length(db.replicas)", "j": "join(',', db.replicas)", "m": "{u: username, p: port}"}}"#)
        .unwrap();
    assert_eq!(text(&out, "n"), "2");
    assert_eq!(text(&out, "j"), "r1,r2");
    assert_eq!(text(&out, "m"), r#"{"p":5432,"u":"admin"}"#);
}
