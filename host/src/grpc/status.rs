//! The one place where mount errors become gRPC statuses. The driver puts the message in the pod's events,
//! so it carries the whole list of problems; it never carries secret values.

use crate::mount::MountError;
use crate::mount::error::FailureKind;
use tonic::{Code, Status};

/// Maps a failed mount to the status the driver reports.
pub fn to_status(err: &MountError) -> Status {
    let code = match err.kind() {
        FailureKind::NotFound => Code::NotFound,
        FailureKind::PermissionDenied => Code::PermissionDenied,
        FailureKind::Unauthenticated => Code::Unauthenticated,
        FailureKind::Unavailable => Code::Unavailable,
        FailureKind::DeadlineExceeded => Code::DeadlineExceeded,
        FailureKind::Invalid => Code::InvalidArgument,
        FailureKind::Plugin => Code::FailedPrecondition,
        FailureKind::Other => Code::Internal,
    };
    Status::new(code, err.to_string())
}
