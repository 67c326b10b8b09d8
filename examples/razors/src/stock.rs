//! The Stock service: allocates razors to each new subscription and takes them back when its
//! payment is cancelled. HTTP: `GET /stock`, `GET /stock/{subscription_id}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::platform::{caused_by, Incoming, Platform, Service};
use crate::{subscription_id, Handler, HttpError};

/// Razors in the warehouse before any allocation.
pub const INITIAL_RAZORS: u64 = 10_000;

#[derive(Default)]
struct Warehouse {
    available: u64,
    /// Razors allocated per subscription.
    allocated: HashMap<Uuid, u64>,
    /// Subscriptions whose razors were given back.
    deallocated: HashMap<Uuid, u64>,
}

/// The service: its warehouse, folded from the events it published.
pub struct Stock {
    platform: Platform,
    state: Mutex<Warehouse>,
}

impl Stock {
    /// Rebuilds the state from the service's bus.
    pub async fn start(platform: Platform) -> anyhow::Result<Self> {
        let initial = Warehouse {
            available: INITIAL_RAZORS,
            ..Warehouse::default()
        };
        let state = platform.rebuild(initial, apply).await?;
        Ok(Self {
            platform,
            state: Mutex::new(state),
        })
    }
}

fn apply(state: &mut Warehouse, event_type: &str, data: &Value) {
    let Some(id) = data["subscription_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
    else {
        return;
    };
    let razors = data["razors"].as_u64().unwrap_or(0);
    match event_type {
        "StockAllocated" => {
            state.available = state.available.saturating_sub(razors);
            state.allocated.insert(id, razors);
        }
        "StockDeallocated" => {
            state.available += razors;
            state.allocated.remove(&id);
            state.deallocated.insert(id, razors);
        }
        _ => {}
    }
}

impl Handler for Stock {
    async fn handle(&self, incoming: Incoming) -> anyhow::Result<()> {
        let data = &incoming.data;
        let Some(id) = data["subscription_id"]
            .as_str()
            .and_then(|id| id.parse::<Uuid>().ok())
        else {
            anyhow::bail!("{} without a subscription_id", incoming.event_type);
        };
        let mut state = self.state.lock().await;
        let (event_type, razors) = match incoming.event_type.as_str() {
            "SubscriptionCreated" => {
                if state.allocated.contains_key(&id) || state.deallocated.contains_key(&id) {
                    return Ok(()); // a redelivery
                }
                let razors = data["razors"].as_u64().unwrap_or(0);
                if razors > state.available {
                    anyhow::bail!("{razors} razors wanted, {} available", state.available);
                }
                ("StockAllocated", razors)
            }
            "PaymentCancelled" => match state.allocated.get(&id) {
                Some(razors) => ("StockDeallocated", *razors),
                None => return Ok(()), // never allocated here, or given back already
            },
            _ => return Ok(()),
        };
        let event = json!({"subscription_id": id, "razors": razors});
        let event_id = caused_by(incoming.id, Service::Stock, event_type);
        self.platform
            .publish(event_id, event_type, event.clone())
            .await?;
        apply(&mut state, event_type, &event);
        Ok(())
    }
}

async fn show(State(service): State<Arc<Stock>>) -> Json<Value> {
    let state = service.state.lock().await;
    let allocated: u64 = state.allocated.values().sum();
    Json(json!({
        "available": state.available,
        "allocated": allocated,
        "subscriptions": state.allocated.len(),
    }))
}

async fn allocation(
    State(service): State<Arc<Stock>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, HttpError> {
    let id = subscription_id(&id)?;
    let state = service.state.lock().await;
    let answer = match (state.allocated.get(&id), state.deallocated.get(&id)) {
        (Some(razors), _) => {
            json!({"subscription_id": id, "razors": razors, "status": "allocated"})
        }
        (None, Some(razors)) => {
            json!({"subscription_id": id, "razors": razors, "status": "deallocated"})
        }
        (None, None) => return Err(HttpError::not_found(format!("no allocation for {id}"))),
    };
    Ok(Json(answer))
}

/// The service's routes.
pub fn router(service: Arc<Stock>) -> Router {
    Router::new()
        .route("/stock", get(show))
        .route("/stock/{id}", get(allocation))
        .with_state(service)
}
