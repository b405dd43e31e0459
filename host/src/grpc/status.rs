//! The one place where mount errors become gRPC statuses.

use crate::mount::MountError;
use tonic::{Code, Status};

/// Maps a failed mount to the status the driver reports in the pod's events.
pub fn to_status(err: &MountError) -> Status {
    let code = match err {
        MountError::Internal(_) => Code::Internal,
    };
    Status::new(code, err.to_string())
}
