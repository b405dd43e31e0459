//! Built-in `jmespath` plugin: writes one file per JMESPath expression evaluated on a JSON input.
//!
//! Strings are written raw; numbers, booleans, arrays and objects as compact JSON. A `null` result
//! (nothing matched) fails the step naming the expression, or is skipped with `onMissing: skip`.
//! Expressions are compiled in `validate`, so a syntax error fails before any secret is fetched.

mod config;

use jmespath::{Expression, Rcvar, Variable};
use transform_sdk::{Error, File, Files, Transform, validate_mode, validate_path};

pub use config::{Config, OnMissing, Output, Outputs};

/// The plugin type exported to the host.
pub struct Jmespath;

impl Transform for Jmespath {
    type Config = Config;
    const NAME: &'static str = "jmespath";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Extracts values from a JSON secret into files with JMESPath expressions";

    fn validate(config: &Config) -> Result<(), Error> {
        let mut problems = Vec::new();
        if config.files.0.is_empty() {
            problems.push("`files`: list at least one output file".to_string());
        }
        for (name, out) in &config.files.0 {
            if let Err(why) = validate_path(name) {
                problems.push(format!("`files.{name}`: bad output file name: {why}"));
            }
            if let Some(mode) = out.mode
                && let Err(why) = validate_mode(mode)
            {
                problems.push(format!("`files.{name}.mode`: {why}"));
            }
            if let Err(e) = compile(&out.expression) {
                problems.push(format!("`files.{name}`: {}", e.message()));
            }
            if config.keep_input && config.input.as_deref() == Some(name.as_str()) {
                problems.push(format!(
                    "`files.{name}`: would overwrite the kept input file"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_config(problems.join("; ")))
        }
    }

    fn transform(config: &Config, files: Files) -> Result<Files, Error> {
        let input = files.input(config.input.as_deref())?;
        let data: Variable = input.json()?;
        let data = Rcvar::new(data);
        let mut out = Files::new();
        if config.keep_input {
            out.insert(input.clone());
        }
        for (name, spec) in &config.files.0 {
            if config.keep_input && *name == input.path {
                return Err(Error::invalid_config(format!(
                    "`files.{name}`: would overwrite the kept input file `{name}`; choose another name"
                )));
            }
            let expr = compile(&spec.expression)?;
            match search(&expr, &data).map_err(|e| Error::failed(format!("`files.{name}`: {e}")))? {
                Found::Missing => match config.on_missing {
                    OnMissing::Skip => transform_sdk::log::debug(&format!(
                        "expression `{}` matched nothing; skipping `{name}`",
                        spec.expression
                    )),
                    OnMissing::Error => {
                        return Err(Error::invalid_input(format!(
                            "expression `{}` for file `{name}` matched nothing (null) in `{}`; \
                             check the path, or set `onMissing: skip`",
                            spec.expression, input.path
                        )));
                    }
                },
                Found::Bytes(bytes) => out.insert(File::new(name, bytes).with_mode(spec.mode)),
            }
        }
        Ok(out)
    }
}

transform_sdk::export_plugin!(Jmespath);

/// Compiles `expression`, turning a syntax error into `invalid-config` with the parser's message.
pub fn compile(expression: &str) -> Result<Expression<'static>, Error> {
    jmespath::compile(expression).map_err(|e| {
        Error::invalid_config(format!(
            "invalid JMESPath expression `{expression}`: {} at column {}",
            e.reason,
            e.column + 1
        ))
    })
}

/// The outcome of one expression.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// The result was `null`.
    Missing,
    /// The bytes to write: raw for strings, compact JSON otherwise.
    Bytes(Vec<u8>),
}

/// Evaluates `expr` on `data` and renders the result. Runtime errors (wrong argument types, ...)
/// mention types and positions only, never values.
pub fn search(expr: &Expression<'_>, data: &Rcvar) -> Result<Found, String> {
    let result = evaluate(expr, data)?;
    Ok(match &*result {
        Variable::Null => Found::Missing,
        Variable::String(s) => Found::Bytes(s.clone().into_bytes()),
        other => Found::Bytes(
            serde_json::to_vec(other)
                .map_err(|_| "the result cannot be written as JSON".to_string())?,
        ),
    })
}

/// Evaluates `expr` on `data`, returning the raw JMESPath value (used by the compliance suite).
pub fn evaluate(expr: &Expression<'_>, data: &Rcvar) -> Result<Rcvar, String> {
    expr.search(data.clone())
        .map_err(|e| format!("expression `{}` failed: {}", expr.as_str(), e.reason))
}

#[cfg(test)]
mod tests;
