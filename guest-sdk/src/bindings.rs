//! The only `generate!` of the contract; everything else in the SDK wraps these types.
//!
//! Generated from `../wit` (the repository's single WIT source). The generated code uses
//! `unsafe` internally, which the workspace-wide `forbid(unsafe_code)` tolerates because it comes
//! from an external macro expansion.

wit_bindgen::generate!({
    world: "transform-plugin",
    path: "../wit",
    pub_export_macro: true,
    default_bindings_module: "transform_sdk::wit",
    export_macro_name: "__export_transform_plugin",
});
