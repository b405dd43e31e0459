//! Example custom plugin `db-url`: turns a JSON database secret into a connection URL such as
//! `postgresql://app:p%40ss@db.internal:5432/orders?sslmode=require`.
//!
//! It reads `username` (or `user`, or Alibaba RDS's `AccountName`), `password` (or
//! `AccountPassword`), `host`, `port` and `dbname` (or `database`) from the secret; `host`, `port`
//! and `database` in the config override the secret's values. User and password are
//! percent-encoded, so any character is safe.

mod url;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use transform_sdk::{Error, File, Files, Transform, validate_mode, validate_path};

pub use url::{Parts, build};

/// The step's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// URL scheme, e.g. `postgresql`, `mysql`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Name of the file to write.
    #[serde(default = "default_output")]
    pub output: String,
    /// Database name (overrides the secret's `dbname`/`database`).
    #[serde(default)]
    pub database: Option<String>,
    /// Host (overrides the secret's `host`); RDS-managed secrets carry none.
    #[serde(default)]
    pub host: Option<String>,
    /// Port (overrides the secret's `port`).
    #[serde(default)]
    pub port: Option<u16>,
    /// Query parameters, e.g. `{"sslmode": "require"}`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Input file name; defaults to the only input file.
    #[serde(default)]
    pub input: Option<String>,
    /// Also pass the input file on.
    #[serde(default)]
    pub keep_input: bool,
    /// Mode of the written file.
    #[serde(default)]
    pub mode: Option<u32>,
}

fn default_scheme() -> String {
    "postgresql".into()
}
fn default_output() -> String {
    "database-url".into()
}

/// The plugin type exported to the host.
pub struct DbUrl;

impl Transform for DbUrl {
    type Config = Config;
    const NAME: &'static str = "db-url";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Builds a database connection URL from a JSON secret";

    fn validate(config: &Config) -> Result<(), Error> {
        let mut problems = Vec::new();
        if !url::valid_scheme(&config.scheme) {
            problems.push(format!(
                "`scheme`: `{}` is not a URL scheme (a letter, then letters, digits, `+`, `-` or `.`)",
                config.scheme
            ));
        }
        if let Err(why) = validate_path(&config.output) {
            problems.push(format!("`output`: {why}"));
        }
        if let Some(why) = config.mode.and_then(|m| validate_mode(m).err()) {
            problems.push(format!("`mode`: {why}"));
        }
        if config.port == Some(0) {
            problems.push("`port`: must be 1 to 65535".to_string());
        }
        if let Some(host) = &config.host
            && !url::valid_host(host)
        {
            problems.push(format!("`host`: `{host}` is not a host name or IP address"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_config(problems.join("; ")))
        }
    }

    fn transform(config: &Config, files: Files) -> Result<Files, Error> {
        let input = files.input(config.input.as_deref())?;
        let secret = match input.json::<Value>()? {
            Value::Object(m) => m,
            _ => {
                return Err(Error::invalid_input(format!(
                    "file `{}` must hold a JSON object",
                    input.path
                )));
            }
        };
        let parts = parts(config, &secret, &input.path)?;
        let mut out = Files::new();
        if config.keep_input {
            if config.output == input.path {
                return Err(Error::invalid_config(format!(
                    "`output`: `{}` would overwrite the kept input file",
                    config.output
                )));
            }
            out.insert(input.clone());
        }
        out.insert(File::new(&config.output, build(&parts)).with_mode(config.mode));
        Ok(out)
    }
}

transform_sdk::export_plugin!(DbUrl);

/// Collects the URL parts from the config and the secret; reports every missing field at once.
fn parts(config: &Config, secret: &Map<String, Value>, file: &str) -> Result<Parts, Error> {
    let mut problems = Vec::new();
    let mut text = |names: &[&str], required: bool| -> Option<String> {
        for name in names {
            match secret.get(*name) {
                Some(Value::String(s)) => return Some(s.clone()),
                Some(Value::Number(n)) => return Some(n.to_string()),
                Some(Value::Null) | None => {}
                Some(_) => {
                    problems.push(format!("`{name}` must be a string"));
                    return None;
                }
            }
        }
        if required {
            problems.push(format!("missing `{}`", names.join("` or `")));
        }
        None
    };
    let user = text(&["username", "user", "AccountName"], true);
    let password = text(&["password", "AccountPassword"], true);
    let host = match &config.host {
        Some(h) => Some(h.clone()),
        None => text(&["host"], true),
    };
    let port = match config.port {
        Some(p) => Some(p.to_string()),
        None => text(&["port"], false),
    };
    let database = match &config.database {
        Some(d) => Some(d.clone()),
        None => text(&["dbname", "database"], false),
    };
    if let Some(h) = &host
        && !url::valid_host(h)
    {
        problems.push("`host` is not a host name or IP address".to_string());
    }
    if let Some(p) = &port
        && !matches!(p.parse::<u16>(), Ok(1..))
    {
        problems.push("`port` must be a number from 1 to 65535".to_string());
    }
    if !problems.is_empty() {
        return Err(Error::invalid_input(format!(
            "file `{file}`: {}",
            problems.join("; ")
        )));
    }
    Ok(Parts {
        scheme: config.scheme.clone(),
        user: user.unwrap_or_default(),
        password: password.unwrap_or_default(),
        host: host.unwrap_or_default(),
        port,
        database,
        params: config.params.clone(),
    })
}

#[cfg(test)]
mod tests;
