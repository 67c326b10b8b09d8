//! The Subscription service: takes subscriptions, and cancels one when its payment is
//! cancelled. HTTP: `POST /subscriptions {"customer"}`, `GET /subscriptions/{id}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::platform::{caused_by, Incoming, Platform, Service};
use crate::{subscription_id, Handler, HttpError};

/// Razors a subscription ships.
pub const RAZORS_PER_SUBSCRIPTION: u64 = 12;

#[derive(Clone, Debug)]
struct Subscription {
    customer: String,
    cancelled: bool,
}

/// The service: its subscriptions, folded from the events it published.
pub struct Subscriptions {
    platform: Platform,
    state: Mutex<HashMap<Uuid, Subscription>>,
}

impl Subscriptions {
    /// Rebuilds the state from the service's bus.
    pub async fn start(platform: Platform) -> anyhow::Result<Self> {
        let state = platform.rebuild(HashMap::new(), apply).await?;
        Ok(Self {
            platform,
            state: Mutex::new(state),
        })
    }
}

fn apply(state: &mut HashMap<Uuid, Subscription>, event_type: &str, data: &Value) {
    let Some(id) = data["subscription_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
    else {
        return;
    };
    match event_type {
        "SubscriptionCreated" => {
            let customer = data["customer"].as_str().unwrap_or_default().to_owned();
            state.insert(
                id,
                Subscription {
                    customer,
                    cancelled: false,
                },
            );
        }
        "SubscriptionCancelled" => {
            if let Some(subscription) = state.get_mut(&id) {
                subscription.cancelled = true;
            }
        }
        _ => {}
    }
}

impl Handler for Subscriptions {
    async fn handle(&self, incoming: Incoming) -> anyhow::Result<()> {
        if incoming.event_type != "PaymentCancelled" {
            return Ok(());
        }
        let data = &incoming.data;
        let Some(id) = data["subscription_id"]
            .as_str()
            .and_then(|id| id.parse::<Uuid>().ok())
        else {
            anyhow::bail!("PaymentCancelled without a subscription_id");
        };
        let mut state = self.state.lock().await;
        if state.get(&id).is_none_or(|s| s.cancelled) {
            return Ok(()); // unknown here, or done already (a redelivery)
        }
        let event = json!({"subscription_id": id, "reason": "payment cancelled"});
        let event_id = caused_by(incoming.id, Service::Subscription, "SubscriptionCancelled");
        self.platform
            .publish(event_id, "SubscriptionCancelled", event.clone())
            .await?;
        apply(&mut state, "SubscriptionCancelled", &event);
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    customer: String,
}

async fn create(
    State(service): State<Arc<Subscriptions>>,
    body: Result<Json<NewSubscription>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), HttpError> {
    let Json(body) = body?;
    let customer = body.customer.trim();
    if customer.is_empty() || customer.len() > 200 {
        return Err(HttpError::invalid("customer: 1 to 200 characters"));
    }
    let id = Uuid::now_v7();
    let event = json!({
        "subscription_id": id,
        "customer": customer,
        "razors": RAZORS_PER_SUBSCRIPTION,
    });
    let mut state = service.state.lock().await;
    service
        .platform
        .publish(Uuid::now_v7(), "SubscriptionCreated", event.clone())
        .await?;
    apply(&mut state, "SubscriptionCreated", &event);
    let body = json!({"id": id, "customer": customer, "status": "active"});
    Ok((StatusCode::CREATED, Json(body)))
}

async fn show(
    State(service): State<Arc<Subscriptions>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, HttpError> {
    let id = subscription_id(&id)?;
    let state = service.state.lock().await;
    let subscription = state
        .get(&id)
        .ok_or_else(|| HttpError::not_found(format!("no subscription {id}")))?;
    let status = if subscription.cancelled {
        "cancelled"
    } else {
        "active"
    };
    Ok(Json(
        json!({"id": id, "customer": subscription.customer, "status": status}),
    ))
}

/// The service's routes.
pub fn router(service: Arc<Subscriptions>) -> Router {
    Router::new()
        .route("/subscriptions", post(create))
        .route("/subscriptions/{id}", get(show))
        .with_state(service)
}
