//! Which imports a plugin may have. Checked before linking, because the linker offers all of
//! WASI p2 (std Rust guests need part of it) and linking alone would let a socket import through.
//!
//! Allowed (by interface name, any version the linker accepts):
//! - `alibabacloud:secrets-transform/types@0.1.0` and `…/log@0.1.0`: the plugin contract;
//! - `wasi:io/{error,poll,streams}` and `wasi:cli/{environment,exit,stdin,stdout,stderr,
//!   terminal-*}`: imported by every std Rust guest; the context has no env or args, stdin is
//!   empty and stdout/stderr are discarded;
//! - `wasi:random/{random,insecure,insecure-seed}`: hash-map seeds; no information leaves;
//! - `wasi:clocks/wall-clock`: reads a clock frozen at the Unix epoch;
//! - `wasi:filesystem/{types,preopens}`: there are no preopens, so no file can be opened.
//!
//! Rejected: everything else, notably `wasi:sockets/*`, `wasi:http/*` and
//! `wasi:clocks/monotonic-clock` (its pollables block the host thread in a way the epoch
//! deadline cannot interrupt).

use wasmtime::Engine;
use wasmtime::component::Component;

const CONTRACT: &[&str] = &[
    "alibabacloud:secrets-transform/types@0.1.0",
    "alibabacloud:secrets-transform/log@0.1.0",
];

const WASI: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
];

/// A short human-readable statement of the allow list, used in error messages.
pub(crate) const ALLOWED_SUMMARY: &str = "alibabacloud:secrets-transform/{types,log}@0.1.0, \
     wasi:io/*, wasi:cli/*, wasi:random/*, wasi:clocks/wall-clock, wasi:filesystem/{types,preopens} (0.2.x)";

/// A hint for the usual cause of rejected imports: an interpreter component (Python, JavaScript) built
/// without stubbing WASI, which brings sockets and the monotonic clock. Empty when no hint applies.
pub(crate) fn hint(bad: &[String]) -> &'static str {
    if bad
        .iter()
        .any(|n| n.starts_with("wasi:sockets/") || n.starts_with("wasi:clocks/monotonic-clock@"))
    {
        "; if this is a Python or JavaScript plugin, build it with `componentize-py ... componentize \
         --stub-wasi` or `componentize-js -d stdio random clocks http fetch-event` (docs/plugins.md#other-languages)"
    } else {
        ""
    }
}

/// Whether one import name is allowed.
pub(crate) fn is_allowed(name: &str) -> bool {
    if CONTRACT.contains(&name) {
        return true;
    }
    let Some((interface, version)) = name.split_once('@') else {
        return false;
    };
    version.starts_with("0.2.") && WASI.contains(&interface)
}

/// All import names of the component, in order.
pub(crate) fn import_names(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The imports of the component that are not allowed (empty when all are fine).
pub(crate) fn disallowed(names: &[String]) -> Vec<String> {
    names.iter().filter(|n| !is_allowed(n)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_contract_and_std_wasi_only() {
        assert!(is_allowed("alibabacloud:secrets-transform/log@0.1.0"));
        assert!(is_allowed("wasi:cli/stdout@0.2.6"));
        assert!(is_allowed("wasi:io/streams@0.2.0"));
        assert!(!is_allowed("alibabacloud:secrets-transform/log@0.2.0"));
        assert!(!is_allowed("wasi:sockets/tcp@0.2.0"));
        assert!(!is_allowed("wasi:http/outgoing-handler@0.2.0"));
        assert!(!is_allowed("wasi:clocks/monotonic-clock@0.2.0"));
        assert!(!is_allowed("wasi:cli/stdout@0.3.0"));
        assert!(!is_allowed("wasi:cli/stdout"));
        assert!(!is_allowed("evil"));
    }

    #[test]
    fn interpreter_builds_with_wasi_get_a_build_hint() {
        let bad = |n: &str| vec![n.to_string()];
        assert!(hint(&bad("wasi:sockets/tcp@0.2.9")).contains("--stub-wasi"));
        assert!(hint(&bad("wasi:clocks/monotonic-clock@0.2.0")).contains("componentize-js -d"));
        assert_eq!(hint(&bad("wasi:http/outgoing-handler@0.2.0")), "");
    }
}
