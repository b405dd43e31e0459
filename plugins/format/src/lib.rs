//! Built-in `format` plugin: one conversion per step, chosen by `op`: `json-to-yaml`,
//! `yaml-to-json`, `json-to-dotenv`, `json-to-properties`, `base64-decode`, `base64-encode`,
//! `pem-split` and `select`. See `docs/plugins.md` for every option.

mod codec;
pub mod config;
pub mod dotenv;
mod flatten;
pub mod pem;
pub mod properties;

use transform_sdk::{Error, File, Files, Transform, validate_mode, validate_path};

use config::{Config, Io};

/// The plugin type exported to the host.
pub struct Format;

impl Transform for Format {
    type Config = Config;
    const NAME: &'static str = "format";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Converts secrets between JSON, YAML, dotenv, Java properties, base64 and PEM bundles";

    fn validate(config: &Config) -> Result<(), Error> {
        let mut problems = Vec::new();
        let mut path = |field: &str, value: &str| {
            if let Err(why) = validate_path(value) {
                problems.push(format!("`{field}`: {why}"));
            }
        };
        match config {
            Config::PemSplit(p) => {
                for (field, value) in [("cert", &p.cert), ("key", &p.key), ("ca", &p.ca)] {
                    path(field, value);
                }
                if let Some(i) = &p.input {
                    path("input", i);
                }
                let names = [&p.cert, &p.key, &p.ca];
                if names[0] == names[1] || names[0] == names[2] || names[1] == names[2] {
                    problems.push(
                        "`cert`, `key` and `ca` must be three different file names".to_string(),
                    );
                }
                for (field, mode) in [("mode", p.mode), ("keyMode", p.key_mode)] {
                    if let Some(why) = mode.and_then(|m| validate_mode(m).err()) {
                        problems.push(format!("`{field}`: {why}"));
                    }
                }
            }
            other => {
                let io = io(other).expect("single-output op");
                for (field, value) in [("input", io.input), ("output", io.output)] {
                    if let Some(v) = value {
                        path(field, v);
                    }
                }
                if let Some(why) = io.mode.and_then(|m| validate_mode(m).err()) {
                    problems.push(format!("`mode`: {why}"));
                }
                if io.keep_input && io.output.is_none() {
                    problems.push(
                        "`keepInput: true` needs an `output` name different from the input"
                            .to_string(),
                    );
                }
            }
        }
        match config {
            Config::JsonToDotenv(d) => {
                if !d.prefix.is_empty() && !dotenv::valid_key(&d.prefix) {
                    problems.push(format!(
                        "`prefix`: `{}` must itself be a valid variable name start ([A-Za-z_][A-Za-z0-9_]*)",
                        d.prefix
                    ));
                }
                if !d
                    .separator
                    .chars()
                    .all(|c| c == '_' || c.is_ascii_alphanumeric())
                {
                    problems.push(
                        "`separator`: only letters, digits and `_` keep keys valid".to_string(),
                    );
                }
            }
            Config::JsonToProperties(p) if p.separator.is_empty() => {
                problems.push("`separator`: must not be empty".to_string());
            }
            Config::Select(s) if s.keys.is_empty() => {
                problems.push("`keys`: list at least one key".to_string())
            }
            _ => {}
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_config(problems.join("; ")))
        }
    }

    fn transform(config: &Config, files: Files) -> Result<Files, Error> {
        if let Config::PemSplit(p) = config {
            let input = files.input(p.input.as_deref())?;
            let mut out = Files::new();
            if p.keep_input {
                out.insert(input.clone());
            }
            for f in pem::split(p, input)? {
                if p.keep_input && f.path == input.path {
                    return Err(overwrite(&f.path));
                }
                out.insert(f);
            }
            return Ok(out);
        }
        let io = io(config).expect("single-output op");
        let input = files.input(io.input)?;
        let bytes = match config {
            Config::JsonToYaml(_) => codec::json_to_yaml(input)?,
            Config::YamlToJson(c) => codec::yaml_to_json(c, input)?,
            Config::JsonToDotenv(c) => dotenv::render(c, input)?,
            Config::JsonToProperties(c) => properties::render(c, input)?,
            Config::Base64Decode(c) => codec::base64_decode(c, input)?,
            Config::Base64Encode(c) => codec::base64_encode(c, input),
            Config::Select(c) => codec::select(c, input)?,
            Config::PemSplit(_) => unreachable!("handled above"),
        };
        let name = io.output.unwrap_or(&input.path);
        let mut out = Files::new();
        if io.keep_input {
            if name == input.path {
                return Err(overwrite(name));
            }
            out.insert(input.clone());
        }
        let mode = io
            .mode
            .or(if name == input.path { input.mode } else { None });
        out.insert(File::new(name, bytes).with_mode(mode));
        Ok(out)
    }
}

transform_sdk::export_plugin!(Format);

fn overwrite(name: &str) -> Error {
    Error::invalid_config(format!(
        "output `{name}` would overwrite the kept input file; choose another name"
    ))
}

/// The shared options of single-output operations (`None` for `pem-split`).
fn io(config: &Config) -> Option<Io<'_>> {
    Some(match config {
        Config::JsonToYaml(c) => c.io(),
        Config::YamlToJson(c) => c.io(),
        Config::JsonToDotenv(c) => c.io(),
        Config::JsonToProperties(c) => c.io(),
        Config::Base64Decode(c) | Config::Base64Encode(c) => c.io(),
        Config::Select(c) => c.io(),
        Config::PemSplit(_) => return None,
    })
}

#[cfg(test)]
mod tests;
