//! Store writes retried with backoff while the node runs (the store and alert stages, the
//! correlation step).

use std::time::Duration;

use metrics::counter;
use onewall_store::StoreError;
use tokio::sync::watch;
use tracing::{error, warn};

/// Retry a store write with backoff while the node runs; after shutdown starts, try once more
/// and give up. Returns whether it was written.
pub async fn retry<F, Fut>(what: &str, shutdown: &watch::Receiver<bool>, mut attempt: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let mut delay = Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(()) => return true,
            Err(e) => {
                counter!("onewall_store_write_errors_total").increment(1);
                if *shutdown.borrow() {
                    error!(error = %e, "{what} failed during shutdown; giving up");
                    return false;
                }
                warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "{what} failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
