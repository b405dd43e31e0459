use super::*;
use serde_json::json;
use transform_sdk::{ErrorKind, testing};

fn url(config: serde_json::Value, secret: serde_json::Value) -> Result<String, Error> {
    let out = testing::run::<DbUrl>(
        &config.to_string(),
        vec![File::new("db", secret.to_string())],
    )?;
    let name = config
        .get("output")
        .and_then(|o| o.as_str())
        .unwrap_or("database-url")
        .to_string();
    Ok(String::from_utf8(out.get(&name).unwrap().contents.clone()).unwrap())
}

#[test]
fn builds_postgres_url_with_encoded_credentials() {
    let secret = json!({"username": "app@corp", "password": "p@ss:w/rd?#%", "host": "db.internal", "port": 5432, "dbname": "orders"});
    let got = url(
        json!({"params": {"sslmode": "require", "application_name": "my app"}}),
        secret,
    )
    .unwrap();
    assert_eq!(
        got,
        "postgresql://app%40corp:p%40ss%3Aw%2Frd%3F%23%25@db.internal:5432/orders?application_name=my%20app&sslmode=require"
    );
}

#[test]
fn rds_secret_with_host_from_config() {
    let secret = json!({"AccountName": "admin", "AccountPassword": "s3cr3t!"});
    let cfg = json!({"scheme": "mysql", "host": "rm-123.mysql.rds.aliyuncs.com", "port": 3306, "database": "shop", "output": "DATABASE_URL", "mode": 256});
    assert_eq!(
        url(cfg, secret).unwrap(),
        "mysql://admin:s3cr3t%21@rm-123.mysql.rds.aliyuncs.com:3306/shop"
    );
}

#[test]
fn config_overrides_secret_and_optional_parts() {
    let secret =
        json!({"user": "u", "password": "p", "host": "old", "port": "6432", "database": "d"});
    assert_eq!(
        url(json!({"host": "new"}), secret.clone()).unwrap(),
        "postgresql://u:p@new:6432/d"
    );
    let secret = json!({"user": "u", "password": "p", "host": "::1"});
    assert_eq!(url(json!({}), secret).unwrap(), "postgresql://u:p@[::1]");
}

#[test]
fn missing_and_wrong_fields_all_reported_without_values() {
    let e = url(
        json!({}),
        json!({"password": 5, "host": "bad host/x", "port": 70000}),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let m = e.message();
    assert!(
        m.starts_with("file `db`: missing `username` or `user` or `AccountName`"),
        "{m}"
    );
    assert!(
        m.contains("`host` is not a host name") && m.contains("`port` must be a number"),
        "{m}"
    );
    assert!(!m.contains("bad host") && !m.contains("70000"), "{m}");
    let e = url(
        json!({}),
        json!({"username": "u", "password": ["x"], "host": "h"}),
    )
    .unwrap_err();
    assert!(e.message().contains("`password` must be a string"), "{e}");
}

#[test]
fn config_validation() {
    let e = testing::validate::<DbUrl>(
        &json!({"scheme": "post gres", "output": "", "port": 0, "extra": 1}).to_string(),
    )
    .unwrap_err();
    assert!(e.message().contains("unknown field `extra`"), "{e}");
    let e = testing::validate::<DbUrl>(
        &json!({"scheme": "post gres", "output": "", "port": 0}).to_string(),
    )
    .unwrap_err();
    let m = e.message();
    assert!(
        m.contains("`scheme`") && m.contains("`output`: the path is empty") && m.contains("`port`"),
        "{m}"
    );
    testing::validate::<DbUrl>("").unwrap();
}

#[test]
fn keep_input_and_info() {
    let out = testing::run::<DbUrl>(
        r#"{"keepInput": true}"#,
        vec![File::new(
            "db",
            r#"{"username":"u","password":"p","host":"h"}"#,
        )],
    )
    .unwrap();
    assert_eq!(out.paths(), ["db", "database-url"]);
    assert_eq!(testing::info::<DbUrl>().name, "db-url");
}

#[test]
fn parts_debug_hides_password() {
    let p = Parts {
        scheme: "x".into(),
        user: "u".into(),
        password: "hunter2".into(),
        host: "h".into(),
        port: None,
        database: None,
        params: Default::default(),
    };
    assert!(!format!("{p:?}").contains("hunter2"));
}
