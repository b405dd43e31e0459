//! Links the plugin with a 128 KiB stack instead of Rust's default 1 MiB. The host keeps the first
//! 512 KiB of a sandbox's memory resident between calls, and a compact layout (stack, data, a call's
//! heap) fits inside it: every call then starts without page faults (docs/plugins.md, "Performance").
fn main() {
    if std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() == Ok("wasm") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=131072");
    }
}
