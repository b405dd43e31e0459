//! Built-in `template` plugin: renders a MiniJinja template into one file.
//!
//! Context: the fields of the input JSON object at the top level, plus `files`, a map from each
//! input file name to its text (object fields win if the object has a `files` key). Undefined
//! variables are errors (strict mode) and syntax errors are reported by `validate`, before any
//! secret is fetched. Render errors give the line and error kind, never values.

mod filters;

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Deserialize;
use serde_json::{Map, Value};
use transform_sdk::{Error, File, Files, Transform, validate_mode, validate_path};

/// `{"template": "...", "output": "<file>", "keepInput": false, "input": null, "mode": null}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// The MiniJinja template source.
    pub template: String,
    /// Name of the rendered file.
    pub output: String,
    /// Also pass the input files on.
    #[serde(default)]
    pub keep_input: bool,
    /// Which file's JSON fields form the context; defaults to the only input file.
    #[serde(default)]
    pub input: Option<String>,
    /// Mode of the rendered file.
    #[serde(default)]
    pub mode: Option<u32>,
}

/// The plugin type exported to the host.
pub struct Template;

const NAME: &str = "template";

impl Transform for Template {
    type Config = Config;
    const NAME: &'static str = NAME;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Renders a MiniJinja template with the fields of a JSON secret";

    fn validate(config: &Config) -> Result<(), Error> {
        let mut problems = Vec::new();
        if let Err(why) = validate_path(&config.output) {
            problems.push(format!("`output`: {why}"));
        }
        if let Some(why) = config.mode.and_then(|m| validate_mode(m).err()) {
            problems.push(format!("`mode`: {why}"));
        }
        let env = environment();
        if let Err(e) = env.template_from_named_str(NAME, &config.template) {
            problems.push(syntax_error(&e));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_config(problems.join("; ")))
        }
    }

    fn transform(config: &Config, files: Files) -> Result<Files, Error> {
        let (context, note) = context(config, &files)?;
        let env = environment();
        let template = env
            .template_from_named_str(NAME, &config.template)
            .map_err(|e| Error::invalid_config(syntax_error(&e)))?;

        let rendered = template
            .render(Value::Object(context.clone()))
            .map_err(|e| {
                let line = e
                    .line()
                    .map(|l| format!(" at line {l}"))
                    .unwrap_or_default();
                if e.kind() == minijinja::ErrorKind::UndefinedError {
                    // Name what is missing (variable names are not secret; their values are never shown).
                    let defined: BTreeSet<&str> = context
                        .keys()
                        .map(String::as_str)
                        .chain(env.globals().map(|(k, _)| k))
                        .collect();
                    let mut missing: Vec<String> = template
                        .undeclared_variables(false)
                        .into_iter()
                        .filter(|v| !defined.contains(v.as_str()))
                        .map(|v| format!("`{v}`"))
                        .collect();
                    missing.sort_unstable();
                    let available: Vec<String> = context.keys().map(|k| format!("`{k}`")).collect();
                    let what = if missing.is_empty() {
                        "an undefined attribute or item".to_string()
                    } else {
                        format!(
                            "an undefined value (used but not in the input: {})",
                            missing.join(", ")
                        )
                    };
                    return Error::invalid_input(format!(
                        "the template uses {what}{line} (available: {}){note}",
                        available.join(", ")
                    ));
                }
                Error::failed(format!("rendering the template failed{line}: {}", e.kind()))
            })?;

        let mut out = Files::new();
        if config.keep_input {
            if files.get(&config.output).is_some() {
                return Err(Error::invalid_config(format!(
                    "`output`: `{}` would overwrite a kept input file; choose another name",
                    config.output
                )));
            }
            out.extend(files);
        }
        out.insert(File::new(&config.output, rendered).with_mode(config.mode));
        Ok(out)
    }
}

transform_sdk::export_plugin!(Template);

/// A strict environment without loaders: templates cannot include files, and nothing is escaped.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env.add_filter("urlencode", filters::urlencode);
    env
}

/// Syntax errors quote the template (from the config, not secret), so the detail is kept.
fn syntax_error(e: &minijinja::Error) -> String {
    let line = e
        .line()
        .map(|l| format!(" at line {l}"))
        .unwrap_or_default();
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    format!("`template`: {}{line}{detail}", e.kind())
}

/// Builds the render context and a note for error messages when no object fields are available.
fn context(config: &Config, files: &Files) -> Result<(Map<String, Value>, String), Error> {
    let mut texts = BTreeMap::new();
    for f in files {
        if let Ok(t) = std::str::from_utf8(&f.contents) {
            texts.insert(f.path.clone(), Value::String(t.to_string()));
        }
    }
    let mut context = Map::new();
    context.insert(
        "files".to_string(),
        Value::Object(texts.into_iter().collect()),
    );

    let chosen = match (&config.input, files.len()) {
        (Some(name), _) => Some(files.input(Some(name))?),
        (None, 1) => files.iter().next(),
        (None, _) => None,
    };
    let note = match chosen {
        None => " (there is more than one input file, so only `files` is available; set `input` to use one file's fields)".to_string(),
        Some(file) => match serde_json::from_slice::<Value>(&file.contents) {
            Ok(Value::Object(fields)) => {
                context.extend(fields);
                String::new()
            }
            // An explicitly chosen input must be an object; an implicit one may be plain text.
            _ if config.input.is_some() => {
                return Err(Error::invalid_input(format!("file `{}` must hold a JSON object", file.path)));
            }
            _ => format!(" (the input `{}` is not a JSON object, so only `files` is available)", file.path),
        },
    };
    Ok((context, note))
}

#[cfg(test)]
mod tests;
