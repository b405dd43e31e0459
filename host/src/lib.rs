//! Secrets Store CSI Driver provider for Alibaba Cloud.
//!
//! The driver calls [`grpc`] on a unix socket; a mount is parsed and validated by [`config`],
//! authenticated by [`auth`], fetched from KMS / OOS by [`fetch`], passed through sandboxed wasm
//! plugins by [`transform`] and returned as files by [`mount`].
// One audited exception: mapping verified precompiled plugin code (`transform::cache`).
#![deny(unsafe_code)]

pub mod auth;
pub mod config;
pub mod fetch;
pub mod grpc;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod mount;
pub mod output;
pub mod policy;
pub mod transform;
