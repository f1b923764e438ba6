//! Duty: shifts, who is on duty now, handovers. (Helper h4.)

use axum::response::Response;

use crate::ApiError;

/// Stub of the contract (filled in by its helper).
pub async fn add_shift() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn shifts() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn remove_shift() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn now() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn hand_over() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn handovers() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn take_over() -> Result<Response, ApiError> {
    Err(super::not_yet())
}
