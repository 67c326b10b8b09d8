//! The bank's HTTP API (seed 001's routes).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use eventfold::{CommandError, SdkError, StreamName};

use crate::domain::{AccountCommand, AccountError};
use crate::{Bank, ACCOUNT_PREFIX};

/// The routes: `POST /account`, `GET /account/{id}`, `POST /account/{id}/credit`,
/// `POST /account/{id}/withdraw`, `GET /accounts` (the read model), `POST /admin/rebuild`.
pub fn router(bank: Arc<Bank>) -> Router {
    Router::new()
        .route("/account", post(create))
        .route("/account/{id}", get(account))
        .route("/account/{id}/credit", post(credit))
        .route("/account/{id}/withdraw", post(withdraw))
        .route("/accounts", get(accounts))
        .route("/admin/rebuild", post(rebuild))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(DefaultBodyLimit::max(4096))
        .with_state(bank)
}

/// An error answer: one status and one stable code per kind, with a message.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<CommandError<AccountError>> for ApiError {
    fn from(error: CommandError<AccountError>) -> Self {
        let message = error.to_string();
        match error {
            CommandError::Domain(domain) => {
                let (status, code) = match domain {
                    AccountError::NotFound => (StatusCode::NOT_FOUND, "account_not_found"),
                    AccountError::AlreadyExists => (StatusCode::CONFLICT, "account_exists"),
                    AccountError::InsufficientBalance { .. } => {
                        (StatusCode::BAD_REQUEST, "insufficient_balance")
                    }
                    AccountError::InvalidAmount => (StatusCode::BAD_REQUEST, "invalid_amount"),
                    AccountError::BalanceOverflow => (StatusCode::BAD_REQUEST, "balance_overflow"),
                };
                Self::new(status, code, message)
            }
            CommandError::Conflict { .. } => Self::new(StatusCode::CONFLICT, "conflict", message),
            other => Self::internal(other),
        }
    }
}

impl From<SdkError> for ApiError {
    fn from(error: SdkError) -> Self {
        Self::internal(error)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the body is over 4096 bytes",
            ),
            _ => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                rejection.body_text(),
            ),
        }
    }
}

/// An account id (a UUID) and its stream.
fn account_stream(id: &str) -> Result<(Uuid, StreamName), ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_account_id",
            format!("`{id:.64}` is not an account id (a UUID)"),
        )
    })?;
    let stream = StreamName::new(&format!("{ACCOUNT_PREFIX}{id}")).expect("a valid name");
    Ok((id, stream))
}

fn account_json(id: Uuid, balance: u64, revision: Option<u64>) -> serde_json::Value {
    json!({ "id": id, "balance": balance, "version": revision.map_or(0, |r| r + 1) })
}

async fn create(State(bank): State<Arc<Bank>>) -> Result<impl IntoResponse, ApiError> {
    let id = Uuid::new_v4();
    let (_, stream) = account_stream(&id.to_string())?;
    let handled = bank
        .accounts
        .handle(&stream, &AccountCommand::Create)
        .await?;
    let body = account_json(id, handled.state.balance, handled.revision);
    Ok((StatusCode::CREATED, Json(body)))
}

async fn account(
    State(bank): State<Arc<Bank>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (id, stream) = account_stream(&id)?;
    let loaded = bank.accounts.load(&stream).await?;
    if !loaded.state.exists {
        return Err(CommandError::Domain(AccountError::NotFound).into());
    }
    let mut body = account_json(id, loaded.state.balance, loaded.revision);
    body["snapshot_version"] = json!(loaded.snapshot_revision.map(|r| r + 1));
    Ok(Json(body))
}

/// The body of a credit or a withdrawal.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmountBody {
    amount: u64,
}

/// The amount of a credit or withdrawal body: a JSON object `{"amount": <positive integer>}`
/// and nothing else (serde alone would also take `[5]`).
fn amount_of(body: Result<Json<serde_json::Value>, JsonRejection>) -> Result<u64, ApiError> {
    let Json(value) = body?;
    let invalid =
        |message: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message);
    if !value.is_object() {
        return Err(invalid(
            "the body must be a JSON object {\"amount\": N}".into(),
        ));
    }
    serde_json::from_value::<AmountBody>(value)
        .map(|body| body.amount)
        .map_err(|error| invalid(format!("invalid body: {error}")))
}

async fn credit(
    State(bank): State<Arc<Bank>>,
    Path(id): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    move_money(&bank, &id, body, |amount| AccountCommand::Credit { amount }).await
}

async fn withdraw(
    State(bank): State<Arc<Bank>>,
    Path(id): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    move_money(&bank, &id, body, |amount| AccountCommand::Withdraw {
        amount,
    })
    .await
}

/// A credit or a withdrawal: the body's amount, handled as `command`.
async fn move_money(
    bank: &Bank,
    id: &str,
    body: Result<Json<serde_json::Value>, JsonRejection>,
    command: impl FnOnce(u64) -> AccountCommand,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (id, stream) = account_stream(id)?;
    let command = command(amount_of(body)?);
    let handled = bank.accounts.handle(&stream, &command).await?;
    Ok(Json(account_json(
        id,
        handled.state.balance,
        handled.revision,
    )))
}

async fn accounts(State(bank): State<Arc<Bank>>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(bank.balances.all()?))
}

async fn rebuild(State(bank): State<Arc<Bank>>) -> Result<impl IntoResponse, ApiError> {
    let rebuilt = bank.balances.rebuild().await?;
    Ok(Json(
        json!({ "applied": rebuilt.applied, "position": rebuilt.position }),
    ))
}
