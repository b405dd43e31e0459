//! Exercises `export_plugin!` and the test harness the way a plugin crate uses them.

use serde::Deserialize;
use transform_sdk::log::Level;
use transform_sdk::{Error, ErrorKind, File, Files, Transform, testing};

struct Echo;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    #[serde(default)]
    rename_to: Option<String>,
    #[serde(default)]
    duplicate: bool,
    #[serde(default)]
    mode: Option<u32>,
}

impl Transform for Echo {
    type Config = Config;
    const NAME: &'static str = "echo";
    const VERSION: &'static str = "1.2.3";
    const DESCRIPTION: &'static str = "returns its input";

    fn validate(config: &Config) -> Result<(), Error> {
        if config.rename_to.as_deref() == Some("forbidden") {
            return Err(Error::invalid_config("`renameTo`: `forbidden` is reserved"));
        }
        Ok(())
    }

    fn transform(config: &Config, files: Files) -> Result<Files, Error> {
        transform_sdk::log::info("echoing");
        let f = files.single()?.clone();
        let f = match &config.rename_to {
            Some(name) => File::new(name, f.contents),
            None => f,
        }
        .with_mode(config.mode);
        let mut out = vec![f.clone()];
        if config.duplicate {
            out.push(f);
        }
        Ok(out.into())
    }
}

transform_sdk::export_plugin!(Echo);

#[test]
fn info_comes_from_the_consts() {
    let i = testing::info::<Echo>();
    assert_eq!(
        (i.name.as_str(), i.version.as_str(), i.description.as_str()),
        ("echo", "1.2.3", "returns its input")
    );
}

#[test]
fn run_parses_config_validates_and_captures_logs() {
    let out = testing::run::<Echo>(r#"{"renameTo": "b"}"#, vec![File::new("a", "x")]).unwrap();
    assert_eq!(out.paths(), ["b"]);
    assert_eq!(
        testing::take_logs(),
        vec![(Level::Info, "echoing".to_string())]
    );
    assert!(testing::take_logs().is_empty(), "logs are drained");

    // Absent config means `{}`.
    let out = testing::run::<Echo>("", vec![File::new("a", "x")]).unwrap();
    assert_eq!(out.paths(), ["a"]);
}

#[test]
fn validate_runs_before_transform_and_reports_fields() {
    let e = testing::validate::<Echo>(r#"{"renameTo": "forbidden"}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    let e = testing::run::<Echo>(r#"{"renameTo": "forbidden"}"#, vec![File::new("a", "x")])
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidConfig,
        "transform re-validates: {e}"
    );
    let e = testing::validate::<Echo>(r#"{"rename": "x"}"#).unwrap_err();
    assert!(
        e.message().starts_with("`rename`: unknown field `rename`"),
        "{e}"
    );
}

#[test]
fn bad_outputs_are_blamed_on_the_plugin() {
    let e =
        testing::run::<Echo>(r#"{"renameTo": "../etc/x"}"#, vec![File::new("a", "x")]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Failed);
    assert!(
        e.message().contains("invalid output path `../etc/x`"),
        "{e}"
    );
    let e = testing::run::<Echo>(r#"{"duplicate": true}"#, vec![File::new("a", "x")]).unwrap_err();
    assert_eq!(e.message(), "the plugin produced the output file `a` twice");
    let e = testing::run::<Echo>(r#"{"mode": 4096}"#, vec![File::new("a", "x")]).unwrap_err();
    assert!(
        e.message()
            .starts_with("output file `a`: 4096 is not a valid file mode"),
        "{e}"
    );
}

#[test]
fn input_shape_errors_pass_through() {
    let e = testing::run::<Echo>("{}", vec![File::new("a", "1"), File::new("b", "2")]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}
