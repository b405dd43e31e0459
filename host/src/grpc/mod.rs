//! The driver-facing gRPC API (`v1alpha1.CSIDriverProvider`) on a unix socket.

/// Code generated from `proto/service.proto`.
#[allow(clippy::all, missing_docs)]
pub mod v1alpha1 {
    tonic::include_proto!("v1alpha1");
}
