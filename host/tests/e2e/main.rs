//! End-to-end tests in one binary (one link of the host instead of one per file): the provider's gRPC API over a
//! real unix socket, the `serve` process, and the examples, all against the in-process emulator on 127.0.0.1.

#[path = "../common/mod.rs"]
mod common;

mod atomicity;
mod bad_input;
mod cli;
mod dedup;
mod examples;
mod faults;
mod isolation;
mod leaks;
mod mount;
mod oci;
mod policy;
mod polyglot;
mod properties;
mod serve_process;
mod transforms;
