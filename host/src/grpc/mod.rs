//! The driver-facing gRPC API (`v1alpha1.CSIDriverProvider`) on a unix socket.

pub mod client;
pub mod server;
pub mod socket;
pub mod status;

/// Code generated from `proto/service.proto`.
#[allow(clippy::all, missing_docs)]
pub mod v1alpha1 {
    tonic::include_proto!("v1alpha1");
}

/// The API version this provider speaks (the driver sends and expects `v1alpha1`).
pub const API_VERSION: &str = "v1alpha1";
/// Runtime name reported by `Version`.
pub const RUNTIME_NAME: &str = "csi-provider-alibabacloud";
/// Runtime version reported by `Version`.
pub const RUNTIME_VERSION: &str = env!("CARGO_PKG_VERSION");
