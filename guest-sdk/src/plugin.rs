//! The `Transform` trait plugins implement and the adapter that exports it through the WIT.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::wit::alibabacloud::secrets_transform::types::{
    File as WitFile, PluginInfo, TransformError,
};
use crate::wit::exports::alibabacloud::secrets_transform::transformer::Guest;
use crate::{Error, File, Files, parse_config, validate_mode, validate_path};

/// A transform plugin: a pure function from files to files, configured per step.
///
/// Implement it on a unit struct and export it with [`export_plugin!`](crate::export_plugin).
/// Keep the logic in plain functions so it can be unit-tested natively with [`crate::testing`].
pub trait Transform {
    /// The step's config, parsed from JSON. Use `#[serde(deny_unknown_fields)]` so typos are
    /// reported; an absent config is parsed from `{}`.
    type Config: DeserializeOwned;

    /// Plugin name, as used in `transforms: [{plugin: <name>}]`.
    const NAME: &'static str;
    /// Plugin version (usually `env!("CARGO_PKG_VERSION")`).
    const VERSION: &'static str;
    /// One line saying what the plugin does.
    const DESCRIPTION: &'static str;

    /// Checks the config beyond what serde checks (compile expressions, parse templates, ...).
    ///
    /// The host calls this when the SecretProviderClass is validated, before any secret is
    /// fetched; the SDK also calls it before every [`Transform::transform`].
    fn validate(config: &Self::Config) -> Result<(), Error> {
        let _ = config;
        Ok(())
    }

    /// Turns the input files into the output files.
    fn transform(config: &Self::Config, files: Files) -> Result<Files, Error>;
}

/// Bridges a [`Transform`] to the generated WIT `Guest` trait; used by `export_plugin!`.
#[doc(hidden)]
pub struct Adapter<P>(PhantomData<P>);

/// Parses the config and runs [`Transform::validate`]; shared by the export and the test harness.
fn validated_config<P: Transform>(config: &str) -> Result<P::Config, Error> {
    let parsed = parse_config::<P::Config>(config)?;
    P::validate(&parsed)?;
    Ok(parsed)
}

/// Rejects outputs the host would refuse anyway, with a message that blames the plugin.
fn check_outputs(files: &Files) -> Result<(), Error> {
    let mut seen = std::collections::BTreeSet::new();
    for f in files {
        if let Err(why) = validate_path(&f.path) {
            return Err(Error::failed(format!(
                "the plugin produced an invalid output path `{}`: {why}",
                f.path
            )));
        }
        if let Some(mode) = f.mode {
            validate_mode(mode)
                .map_err(|why| Error::failed(format!("output file `{}`: {why}", f.path)))?;
        }
        if !seen.insert(f.path.as_str()) {
            return Err(Error::failed(format!(
                "the plugin produced the output file `{}` twice",
                f.path
            )));
        }
    }
    Ok(())
}

impl<P: Transform> Guest for Adapter<P> {
    fn info() -> PluginInfo {
        PluginInfo {
            name: P::NAME.to_string(),
            version: P::VERSION.to_string(),
            description: P::DESCRIPTION.to_string(),
        }
    }

    fn validate_config(config: String) -> Result<(), TransformError> {
        validated_config::<P>(&config).map(drop).map_err(Into::into)
    }

    fn transform(config: String, files: Vec<WitFile>) -> Result<Vec<WitFile>, TransformError> {
        let run = || -> Result<Files, Error> {
            let config = validated_config::<P>(&config)?;
            let input: Files = files.into_iter().map(File::from).collect();
            let output = P::transform(&config, input)?;
            check_outputs(&output)?;
            Ok(output)
        };
        run()
            .map(|out| out.into_iter().map(WitFile::from).collect())
            .map_err(Into::into)
    }
}

/// Exports a [`Transform`] implementation as the plugin's `transformer` interface.
///
/// Use it once per plugin crate, at the crate root:
///
/// ```ignore
/// transform_sdk::export_plugin!(MyPlugin);
/// ```
///
/// The exports are only emitted for `wasm32` targets: native builds (unit tests) would otherwise
/// try to export symbols named like `alibabacloud:secrets-transform/...`, which native linkers
/// reject. Natively the macro only checks that the type implements [`Transform`]; tests call it
/// through [`crate::testing`], which uses the same adapter.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        type __TransformSdkExport = $crate::Adapter<$plugin>;
        #[cfg(target_arch = "wasm32")]
        $crate::wit::__export_transform_plugin!(__TransformSdkExport with_types_in $crate::wit);
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = $crate::__assert_transform::<$plugin>;
    };
}

/// Compile-time check used by `export_plugin!` on native targets.
#[doc(hidden)]
pub fn __assert_transform<P: Transform>() {}
