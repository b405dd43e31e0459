//! A gRPC client of a provider socket, as the CSI driver dials it. Used by the health check and `probe`.

use super::v1alpha1::csi_driver_provider_client::CsiDriverProviderClient;
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use tonic::transport::{Channel, Endpoint};

/// Connects to a provider's unix socket. The authority is `localhost`, as the driver sends it.
pub async fn connect(
    socket: &Path,
) -> Result<CsiDriverProviderClient<Channel>, tonic::transport::Error> {
    let socket: PathBuf = socket.to_path_buf();
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await?;
    Ok(CsiDriverProviderClient::new(channel))
}
