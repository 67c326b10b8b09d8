//! A webhook endpoint for tests.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use serde_json::Value;

/// A webhook endpoint that records what it receives and answers with the statuses it is given
/// (then 200).
#[derive(Clone, Default)]
pub struct Hook {
    pub received: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
    pub answers: Arc<Mutex<Vec<u16>>>,
}

impl Hook {
    pub async fn serve(answers: &[u16]) -> (Self, String) {
        let hook = Self::default();
        *hook.answers.lock() = answers.iter().rev().copied().collect();
        let state = hook.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                    let state = state.clone();
                    async move {
                        state.received.lock().push((headers, body));
                        let status = state.answers.lock().pop().unwrap_or(200);
                        StatusCode::from_u16(status).unwrap()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (hook, url)
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.received
            .lock()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }
}
