//! The API's view of the federation ([`onewall_api::federation::FederationHub`]).

use std::sync::Arc;

use onewall_api::federation::{FederationHub, HubFuture};
use onewall_api::{ApiError, ErrorCode};
use onewall_model::federation::{DispatchRequest, PushReply, PushRequest};
use onewall_model::{Incident, IncidentId, RegionCode};

use onewall_federation::{Federation, SequenceRefused};

/// The federation as the API sees it.
#[derive(Debug, Clone)]
pub struct Hub(pub Arc<Federation>);

fn internal(e: anyhow::Error) -> ApiError {
    let text = format!("{e:#}");
    // A store that is briefly unavailable asks the child to retry.
    ApiError::new(ErrorCode::Unavailable, format!("federation: {text}"))
}

impl FederationHub for Hub {
    fn push(&self, req: PushRequest) -> HubFuture<'_, PushReply> {
        Box::pin(async move {
            self.0
                .apply_push(req)
                .await
                .map_err(|e| match e.downcast_ref::<SequenceRefused>() {
                    Some(refused) => ApiError::new(ErrorCode::Conflict, refused.to_string()),
                    None => internal(e),
                })
        })
    }

    fn dispatch(
        &self,
        incident: Incident,
        region: RegionCode,
        req: DispatchRequest,
        by: String,
    ) -> HubFuture<'_, serde_json::Value> {
        Box::pin(async move {
            self.0
                .queue_dispatch(incident, region, req.note.trim().to_owned(), req.team, by)
                .await
                .map_err(internal)
        })
    }

    fn is_child(&self, region: RegionCode) -> HubFuture<'_, bool> {
        Box::pin(async move { self.0.is_child(region).await.map_err(internal) })
    }

    fn children(&self) -> HubFuture<'_, Vec<serde_json::Value>> {
        Box::pin(async move { self.0.children_health().await.map_err(internal) })
    }

    fn status(&self) -> HubFuture<'_, serde_json::Value> {
        Box::pin(async move { self.0.uplink_status().await.map_err(internal) })
    }

    fn links(
        &self,
        incident: IncidentId,
    ) -> HubFuture<'_, serde_json::Map<String, serde_json::Value>> {
        Box::pin(async move {
            let mut m = serde_json::Map::new();
            let (children, dispatches) = self.0.parent_links(incident).await.map_err(internal)?;
            if !children.is_empty() {
                m.insert("remote_children".into(), children.into());
            }
            if !dispatches.is_empty() {
                m.insert("dispatches".into(), dispatches.into());
            }
            if let Some(p) = self.0.uplink_json(incident).await.map_err(internal)? {
                m.insert("remote_parent".into(), p);
            }
            Ok(m)
        })
    }
}
