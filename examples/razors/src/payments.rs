//! The Payments service: a direct debit per subscription, which the customer can cancel.
//! HTTP: `GET /payments/{subscription_id}`, `POST /payments/{subscription_id}/cancel`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::platform::{caused_by, Incoming, Platform, Service};
use crate::{subscription_id, Handler, HttpError};

#[derive(Clone)]
struct DirectDebit {
    customer: String,
    cancelled: bool,
}

/// The service: its direct debits, folded from the events it published.
pub struct Payments {
    platform: Platform,
    state: Mutex<HashMap<Uuid, DirectDebit>>,
}

impl Payments {
    /// Rebuilds the state from the service's bus.
    pub async fn start(platform: Platform) -> anyhow::Result<Self> {
        let state = platform.rebuild(HashMap::new(), apply).await?;
        Ok(Self {
            platform,
            state: Mutex::new(state),
        })
    }
}

fn apply(state: &mut HashMap<Uuid, DirectDebit>, event_type: &str, data: &Value) {
    let Some(id) = data["subscription_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
    else {
        return;
    };
    match event_type {
        "DirectDebitCreated" => {
            let customer = data["customer"].as_str().unwrap_or_default().to_owned();
            state.insert(
                id,
                DirectDebit {
                    customer,
                    cancelled: false,
                },
            );
        }
        "PaymentCancelled" => {
            if let Some(debit) = state.get_mut(&id) {
                debit.cancelled = true;
            }
        }
        _ => {}
    }
}

impl Handler for Payments {
    async fn handle(&self, incoming: Incoming) -> anyhow::Result<()> {
        if incoming.event_type != "SubscriptionCreated" {
            return Ok(());
        }
        let data = &incoming.data;
        let Some(id) = data["subscription_id"]
            .as_str()
            .and_then(|id| id.parse::<Uuid>().ok())
        else {
            anyhow::bail!("SubscriptionCreated without a subscription_id");
        };
        let mut state = self.state.lock().await;
        if state.contains_key(&id) {
            return Ok(()); // a redelivery
        }
        let event = json!({"subscription_id": id, "customer": data["customer"]});
        let event_id = caused_by(incoming.id, Service::Payments, "DirectDebitCreated");
        self.platform
            .publish(event_id, "DirectDebitCreated", event.clone())
            .await?;
        apply(&mut state, "DirectDebitCreated", &event);
        Ok(())
    }
}

fn view(id: Uuid, debit: &DirectDebit) -> Json<Value> {
    let status = if debit.cancelled {
        "cancelled"
    } else {
        "active"
    };
    Json(json!({"subscription_id": id, "customer": debit.customer, "status": status}))
}

async fn show(
    State(service): State<Arc<Payments>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, HttpError> {
    let id = subscription_id(&id)?;
    let state = service.state.lock().await;
    let debit = state
        .get(&id)
        .ok_or_else(|| HttpError::not_found(format!("no direct debit for {id}")))?;
    Ok(view(id, debit))
}

async fn cancel(
    State(service): State<Arc<Payments>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, HttpError> {
    let id = subscription_id(&id)?;
    let mut state = service.state.lock().await;
    let debit = state
        .get(&id)
        .ok_or_else(|| HttpError::not_found(format!("no direct debit for {id}")))?;
    if debit.cancelled {
        return Err(HttpError::conflict(format!(
            "the direct debit of {id} is cancelled already"
        )));
    }
    let event = json!({"subscription_id": id});
    service
        .platform
        .publish(Uuid::now_v7(), "PaymentCancelled", event.clone())
        .await?;
    apply(&mut state, "PaymentCancelled", &event);
    let debit = state.get(&id).expect("present");
    Ok(view(id, debit))
}

/// The service's routes.
pub fn router(service: Arc<Payments>) -> Router {
    Router::new()
        .route("/payments/{id}", get(show))
        .route("/payments/{id}/cancel", post(cancel))
        .with_state(service)
}
