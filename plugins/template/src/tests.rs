use super::*;
use serde_json::json;
use transform_sdk::{ErrorKind, testing};

const SECRET: &str = r#"{"username": "app", "password": "p@ss/w:rd?#", "host": "db.internal", "port": 5432,
  "replicas": ["r1", "r2"], "opts": {"sslmode": "require", "connect_timeout": 5}}"#;

fn render(template: &str) -> Result<String, Error> {
    let cfg = json!({"template": template, "output": "out"}).to_string();
    let out = testing::run::<Template>(&cfg, vec![File::new("db", SECRET)])?;
    Ok(String::from_utf8(out.get("out").unwrap().contents.clone()).unwrap())
}

#[test]
fn renders_fields_loops_and_keeps_trailing_newline() {
    let t = "host={{ host }}:{{ port }}\n{% for r in replicas %}{{ r }}{% if not loop.last %},{% endif %}{% endfor %}\n";
    assert_eq!(render(t).unwrap(), "host=db.internal:5432\nr1,r2\n");
    assert_eq!(
        render("{{ opts | tojson }}").unwrap(),
        r#"{"connect_timeout":5,"sslmode":"require"}"#
    );
    assert_eq!(
        render("{{ files.db | length > 10 }}").unwrap(),
        "True",
        "Jinja prints booleans Python-style"
    );
    assert_eq!(
        render("<{{ password }}>").unwrap(),
        "<p@ss/w:rd?#>",
        "no HTML escaping"
    );
}

#[test]
fn urlencode_encodes_every_reserved_character() {
    assert_eq!(
        render("{{ password | urlencode }}").unwrap(),
        "p%40ss%2Fw%3Ard%3F%23"
    );
    assert_eq!(render("{{ 'a b~c' | urlencode }}").unwrap(), "a%20b~c");
    assert_eq!(
        render("{{ opts | urlencode }}").unwrap(),
        "connect_timeout=5&sslmode=require"
    );
    let url =
        "postgres://{{ username|urlencode }}:{{ password|urlencode }}@{{ host }}:{{ port }}/app";
    assert_eq!(
        render(url).unwrap(),
        "postgres://app:p%40ss%2Fw%3Ard%3F%23@db.internal:5432/app"
    );
}

#[test]
fn undefined_variables_are_errors_naming_them() {
    let e = render("user={{ username }}\npass={{ pasword }}").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.message().contains("used but not in the input: `pasword`"),
        "{e}"
    );
    assert!(e.message().contains("at line 2"), "{e}");
    assert!(
        e.message().contains("`password`"),
        "lists available keys: {e}"
    );
    assert!(!e.message().contains("p@ss"), "{e}");
    let e = render("{{ opts.sslmod }}").unwrap_err();
    assert!(
        e.message()
            .contains("an undefined attribute or item at line 1"),
        "{e}"
    );
    // Optional fields can still be tested.
    assert_eq!(
        render("{% if pool is defined %}{{ pool }}{% else %}none{% endif %}").unwrap(),
        "none"
    );
}

#[test]
fn render_errors_do_not_show_values() {
    let e = render("{{ password + 1 }}").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Failed);
    assert!(
        e.message()
            .starts_with("rendering the template failed at line 1"),
        "{e}"
    );
    assert!(!e.message().contains("p@ss"), "{e}");
}

#[test]
fn syntax_errors_fail_validation() {
    let e = testing::validate::<Template>(
        &json!({"template": "ok\n{{ a | }}", "output": "x"}).to_string(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(
        e.message()
            .starts_with("`template`: syntax error at line 2"),
        "{e}"
    );
    let e = testing::validate::<Template>(
        &json!({"template": "{% for x in y %}", "output": "/x", "mode": 4095}).to_string(),
    )
    .unwrap_err();
    let m = e.message();
    assert!(
        m.contains("`output`: the path is absolute")
            && m.contains("`mode`: 4095")
            && m.contains("`template`"),
        "{m}"
    );
    let e = testing::validate::<Template>(r#"{"template": "x"}"#).unwrap_err();
    assert!(e.message().contains("missing field `output`"), "{e}");
    let e = testing::validate::<Template>(r#"{"template": "x", "output": "o", "include": "y"}"#)
        .unwrap_err();
    assert!(e.message().contains("unknown field `include`"), "{e}");
}

#[test]
fn no_filesystem_loader() {
    let e = render("{% include 'secret.txt' %}").unwrap_err();
    assert!(e.message().contains("template not found"), "{e}");
}

#[test]
fn keep_input_input_choice_and_plain_text() {
    let files = vec![
        File::new("a", r#"{"v": "A"}"#),
        File::new("b", "plain text"),
    ];
    let cfg = json!({"template": "{{ v }}/{{ files.b }}", "output": "o", "input": "a", "keepInput": true, "mode": 288});
    let out = testing::run::<Template>(&cfg.to_string(), files.clone()).unwrap();
    assert_eq!(out.paths(), ["a", "b", "o"]);
    assert_eq!(out.get("o").unwrap().contents, b"A/plain text");
    assert_eq!(out.get("o").unwrap().mode, Some(0o440));

    let cfg = json!({"template": "{{ v }}", "output": "o"});
    let e = testing::run::<Template>(&cfg.to_string(), files.clone()).unwrap_err();
    assert!(e.message().contains("more than one input file"), "{e}");

    let cfg = json!({"template": "[{{ files.b }}]", "output": "o"});
    let out = testing::run::<Template>(&cfg.to_string(), vec![files[1].clone()]).unwrap();
    assert_eq!(out.get("o").unwrap().contents, b"[plain text]");

    let cfg = json!({"template": "x", "output": "a", "keepInput": true});
    let e = testing::run::<Template>(&cfg.to_string(), files).unwrap_err();
    assert!(
        e.message().contains("would overwrite a kept input file"),
        "{e}"
    );
}
