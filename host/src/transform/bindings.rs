//! The only `bindgen!` of the host: generated from `wit/` (the single source of the plugin contract).
//!
//! Synchronous bindings: every guest call runs on a blocking thread, so a busy plugin never stalls
//! the async runtime, and the epoch deadline bounds it.

wasmtime::component::bindgen!({
    world: "transform-plugin",
    path: "../wit",
});

pub(crate) use alibabacloud::secrets_transform::types::LogLevel;
pub(crate) use exports::alibabacloud::secrets_transform::transformer::{
    File as WitFile, TransformError as WitError,
};
