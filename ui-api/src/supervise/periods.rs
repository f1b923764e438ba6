//! 重保 periods: declare, list, one, cancel, lessons, slot reports, the 复盘. (Helper h4.)

use axum::response::Response;

use crate::ApiError;

/// Stub of the contract (filled in by its helper).
pub async fn declare() -> Result<Response, ApiError> {
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
pub async fn cancel() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn add_lesson() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn lessons() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn slots() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn review() -> Result<Response, ApiError> {
    Err(super::not_yet())
}
