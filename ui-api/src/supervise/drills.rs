//! Drills: plan from a scenario, list, one, start, the drill report. (Helper h5.)

use axum::response::Response;

use crate::ApiError;

/// Stub of the contract (filled in by its helper).
pub async fn plan() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn list() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn get() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn start() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn report() -> Result<Response, ApiError> {
    Err(super::not_yet())
}
