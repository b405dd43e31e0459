//! Guest SDK for secret transform plugins of the Alibaba Cloud Secrets Store CSI provider.
//!
//! A plugin is a WebAssembly component implementing the `transform-plugin` world of
//! `wit/transform.wit`: a pure function from files to files, with a JSON config per step. This
//! crate hides the generated bindings behind a small typed API:
//!
//! ```
//! use serde::Deserialize;
//! use transform_sdk::{Error, File, Files, Transform};
//!
//! /// Upper-cases the (single) input file into `output`.
//! pub struct Shout;
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! pub struct Config {
//!     output: String,
//! }
//!
//! impl Transform for Shout {
//!     type Config = Config;
//!     const NAME: &'static str = "shout";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const DESCRIPTION: &'static str = "Upper-cases a text file";
//!
//!     fn validate(config: &Config) -> Result<(), Error> {
//!         transform_sdk::validate_path(&config.output)
//!             .map_err(|why| Error::invalid_config(format!("`output`: {why}")))
//!     }
//!
//!     fn transform(config: &Config, files: Files) -> Result<Files, Error> {
//!         let text = files.single()?.text()?;
//!         Ok(Files::from(vec![File::new(&config.output, text.to_uppercase())]))
//!     }
//! }
//!
//! transform_sdk::export_plugin!(Shout);
//!
//! # fn main() {
//! // Natively, the same entry points run without wasm:
//! let out = transform_sdk::testing::run::<Shout>(r#"{"output": "loud"}"#, vec![File::new("in", "hi")]).unwrap();
//! assert_eq!(out.get("loud").unwrap().contents, b"HI");
//! # }
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (crate type `cdylib`); the output
//! `.wasm` is already a component.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod error;
mod file;
pub mod log;
mod plugin;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

#[doc(hidden)]
#[path = "bindings.rs"]
pub mod wit;

pub use config::parse_config;
pub use error::{Error, ErrorKind};
pub use file::{File, Files, MAX_MODE, validate_mode, validate_path};
pub use plugin::Transform;
#[doc(hidden)]
pub use plugin::{__assert_transform, Adapter};
