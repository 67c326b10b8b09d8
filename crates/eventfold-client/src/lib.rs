//! The Rust client of Eventfold's HTTP API. [`Client`] implements [`EventStore`], so code
//! written against the trait runs unchanged in-process (embedded) or against a server; the
//! conformance suite proves both behave the same.
//!
//! ```no_run
//! # async fn example() -> Result<(), eventfold_store::StoreError> {
//! use eventfold_client::Client;
//! use eventfold_store::{EventStore, ExpectedRevision, NewEvent, StreamName};
//!
//! let client = Client::new("http://127.0.0.1:7117")?;
//! let stream = StreamName::new("account-42")?;
//! let event = NewEvent::json("Deposited", &serde_json::json!({ "amount": 10 }));
//! client.append(&stream, ExpectedRevision::Any, vec![event]).await?;
//! # Ok(()) }
//! ```

mod admin;
mod buses;
mod groups;
mod sse;
mod wire;

pub use eventfold_api as api;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;

use eventfold_api::streams::{
    AllPage, AllQuery, AppendRequest, DeleteQuery, EventBody, Health, RevisionAnswer, SnapshotBody,
    StreamPage, StreamQuery, SubscribeAllQuery, SubscribeStreamQuery,
};
use eventfold_api::ErrorCode;
use eventfold_store::{
    AllFrom, AllSlice, AppendResult, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ReadAll, ReadStream, RecordedEvent, Revision, Snapshot, SnapshotStore, StoreError, StreamFrom,
    StreamMetadata, StreamName, Subscription,
};

/// A connection to an Eventfold server. Cheap to clone; clones share connections.
#[derive(Clone, Debug)]
pub struct Client {
    base: Url,
    http: reqwest::Client,
    /// The longest a request/response call may take (subscriptions are not bounded).
    timeout: Option<Duration>,
    /// How long a lost subscription is tried again before it ends with the loss.
    resume_for: Duration,
}

/// How a [`Client`] connects: built with [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    headers: reqwest::header::HeaderMap,
    resume_for: Duration,
}

impl ClientBuilder {
    /// The longest one request/response call may take, answer included (none by default).
    /// Subscriptions are not bounded by it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The longest connecting may take (10 s by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// A header sent with every request.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, StoreError> {
        let invalid = |what: &str| StoreError::InvalidRequest(format!("header {name:?}: {what}"));
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid("not a valid name"))?;
        let value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| invalid("not a valid value"))?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// `Authorization: Bearer TOKEN` with every request.
    pub fn bearer_token(self, token: &str) -> Result<Self, StoreError> {
        let mut builder = self.header("authorization", &format!("Bearer {token}"))?;
        if let Some(value) = builder.headers.get_mut("authorization") {
            value.set_sensitive(true);
        }
        Ok(builder)
    }

    /// How long a subscription whose connection is lost is opened again (after its last
    /// message: no gap, no duplicate) before it ends with the loss; 30 s by default, zero to
    /// end it at once.
    pub fn resume_subscriptions_for(mut self, patience: Duration) -> Self {
        self.resume_for = patience;
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, StoreError> {
        let base_url = &self.base_url;
        let base = Url::parse(base_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base())
            .ok_or_else(|| {
                StoreError::InvalidRequest(format!("`{base_url}` is not an http(s) URL"))
            })?;
        if base.scheme() == "https" {
            return Err(StoreError::InvalidRequest(format!(
                "`{base_url}`: this build of the client speaks plain HTTP only (TLS comes with \
                 the security release); put a TLS-terminating proxy on localhost in between"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .default_headers(self.headers)
            .build()
            .map_err(|error| StoreError::InvalidRequest(format!("the HTTP client: {error}")))?;
        Ok(Client {
            base,
            http,
            timeout: self.timeout,
            resume_for: self.resume_for,
        })
    }
}

impl Client {
    /// A client of the server at `base_url`, such as `http://127.0.0.1:7117`, with the
    /// defaults of [`Client::builder`].
    pub fn new(base_url: &str) -> Result<Self, StoreError> {
        Self::builder(base_url).build()
    }

    /// A client with settings: time-outs, headers, a bearer token, how long subscriptions
    /// resume.
    ///
    /// ```no_run
    /// # fn example() -> Result<(), eventfold_store::StoreError> {
    /// use std::time::Duration;
    /// let client = eventfold_client::Client::builder("http://127.0.0.1:7117")
    ///     .timeout(Duration::from_secs(30))
    ///     .bearer_token("k_…")?
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_owned(),
            timeout: None,
            connect_timeout: Duration::from_secs(10),
            headers: reqwest::header::HeaderMap::new(),
            resume_for: Duration::from_secs(30),
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("checked in new")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// A request/response call, within the client's time-out.
    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let request = self.http.request(method, self.url(segments));
        match self.timeout {
            Some(timeout) => request.timeout(timeout),
            None => request,
        }
    }

    /// Opens the subscription at `segments` with `query`, and keeps the way to open it again
    /// after a lost connection (`Last-Event-ID`).
    async fn subscribe(
        &self,
        segments: &[&str],
        query: impl serde::Serialize + Send + Sync + 'static,
        stream: Option<&StreamName>,
    ) -> Result<Subscription, StoreError> {
        let client = self.clone();
        let url = self.url(segments);
        let query = std::sync::Arc::new(query);
        let open: sse::Reopen = std::sync::Arc::new(move |last_id: Option<u64>| {
            let (client, url, query) = (client.clone(), url.clone(), query.clone());
            Box::pin(async move {
                let mut request = client.http.get(url).query(&*query);
                if let Some(id) = last_id {
                    request = request.header("last-event-id", id.to_string());
                }
                client.send(request).await
            })
        });
        let response = open(None).await?;
        if response.status() != StatusCode::OK {
            return Err(wire::error_of(response, stream).await);
        }
        let reopen = (!self.resume_for.is_zero()).then_some((open, self.resume_for));
        Ok(sse::subscription(response, reopen, stream.cloned()))
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, StoreError> {
        request.send().await.map_err(|error| {
            StoreError::Backend(format!("cannot reach the server at {}: {error}", self.base))
        })
    }

    /// Sends `request`; a success becomes `T`, anything else the error the server reported.
    async fn call<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        stream: Option<&StreamName>,
    ) -> Result<T, StoreError> {
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(wire::error_of(response, stream).await);
        }
        response.json().await.map_err(|error| {
            StoreError::Backend(format!("unexpected answer from the server: {error}"))
        })
    }
}

#[async_trait]
impl EventStore for Client {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let body = AppendRequest {
            expected_revision: expected,
            events: events.iter().map(EventBody::of).collect::<Result<_, _>>()?,
        };
        let request = self
            .request(Method::POST, &["streams", stream.as_str()])
            .json(&body);
        self.call(request, Some(stream)).await
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        request: ReadStream,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let query = StreamQuery {
            from: StreamQuery::at(request.from),
            direction: Some(request.direction),
            limit: Some(request.limit),
            bytes_max: Some(request.bytes_max),
        };
        let http = self
            .request(Method::GET, &["streams", stream.as_str()])
            .query(&query);
        let page: StreamPage = self.call(http, Some(stream)).await?;
        Ok(page.events.into_owned())
    }

    async fn read_all(&self, request: ReadAll) -> Result<AllSlice, StoreError> {
        let query = AllQuery {
            direction: Some(request.direction),
            limit: Some(request.limit),
            bytes_max: Some(request.bytes_max),
            ..AllQuery::of(request.from, &request.filter)
        };
        let page: AllPage = self
            .call(self.request(Method::GET, &["all"]).query(&query), None)
            .await?;
        Ok(AllSlice {
            events: page.events.into_owned(),
            next: page.next.unwrap_or(Position(0)),
            end_of_log: page.end_of_log,
        })
    }

    async fn subscribe_all(
        &self,
        from: AllFrom,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        // `end` is where the log ends now: a reopen must not mean a later end.
        let from = match from {
            AllFrom::End => AllFrom::Position(self.head_position().await?),
            other => other,
        };
        let query = SubscribeAllQuery::of(from, &filter);
        self.subscribe(&["subscribe", "all"], query, None).await
    }

    async fn subscribe_stream(
        &self,
        stream: &StreamName,
        from: StreamFrom,
    ) -> Result<Subscription, StoreError> {
        // `end` is where the stream ends now: a reopen must not mean a later end.
        let from = match from {
            StreamFrom::End => match self.stream_revision(stream).await? {
                Some(revision) => StreamFrom::Revision(Revision(revision.0 + 1)),
                None => StreamFrom::Start,
            },
            other => other,
        };
        let query = SubscribeStreamQuery {
            from: StreamQuery::at(from),
        };
        let segments = ["subscribe", "streams", stream.as_str()];
        self.subscribe(&segments, query, Some(stream)).await
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<Revision>, StoreError> {
        let request = self.request(Method::GET, &["streams", stream.as_str(), "revision"]);
        let answer: RevisionAnswer = self.call(request, Some(stream)).await?;
        Ok(answer.revision)
    }

    async fn stream_metadata(&self, stream: &StreamName) -> Result<StreamMetadata, StoreError> {
        let request = self.request(Method::GET, &["streams", stream.as_str(), "metadata"]);
        self.call(request, Some(stream)).await
    }

    async fn set_stream_metadata(
        &self,
        stream: &StreamName,
        metadata: StreamMetadata,
    ) -> Result<(), StoreError> {
        let request = self
            .request(Method::PUT, &["streams", stream.as_str(), "metadata"])
            .json(&metadata);
        let _: StreamMetadata = self.call(request, Some(stream)).await?;
        Ok(())
    }

    async fn delete_stream(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        mode: eventfold_store::DeleteMode,
    ) -> Result<(), StoreError> {
        let query = DeleteQuery {
            hard: mode == eventfold_store::DeleteMode::Hard,
            expected_revision: Some(expected.to_string()),
        };
        let request = self
            .request(Method::DELETE, &["streams", stream.as_str()])
            .query(&query);
        self.no_content(request, Some(stream)).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        let health: Health = self
            .call(self.request(Method::GET, &["health"]), None)
            .await?;
        Ok(health.head_position)
    }

    async fn scavenge(
        &self,
        progress: eventfold_store::OnProgress,
    ) -> Result<eventfold_store::ScavengeProgress, StoreError> {
        self.scavenge_on_server(progress).await
    }
}

/// The server's snapshot store (`/snapshots/{stream}`), for SDK command handlers working
/// through the server.
#[async_trait]
impl SnapshotStore for Client {
    async fn load(&self, stream: &StreamName) -> Result<Option<Snapshot>, StoreError> {
        let response = self
            .send(self.request(Method::GET, &["snapshots", stream.as_str()]))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return match wire::error_of(response, Some(stream)).await {
                StoreError::Remote {
                    code: ErrorCode::SnapshotNotFound,
                    ..
                } => Ok(None),
                other => Err(other),
            };
        }
        if !response.status().is_success() {
            return Err(wire::error_of(response, Some(stream)).await);
        }
        let body: SnapshotBody = response.json().await.map_err(|error| {
            StoreError::Backend(format!("unexpected answer from the server: {error}"))
        })?;
        Ok(Some(Snapshot {
            stream: stream.clone(),
            revision: body.revision,
            last_event_id: body.last_event_id,
            schema_version: body.schema_version,
            recorded_at: body.recorded_at,
            state: bytes::Bytes::copy_from_slice(body.state.get().as_bytes()),
        }))
    }

    async fn save(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        snapshot.validate()?;
        let state: &serde_json::value::RawValue =
            serde_json::from_slice(&snapshot.state).map_err(|error| {
                StoreError::InvalidRequest(format!("a snapshot's state must be JSON: {error}"))
            })?;
        let body = SnapshotBody {
            revision: snapshot.revision,
            last_event_id: snapshot.last_event_id,
            schema_version: snapshot.schema_version,
            recorded_at: snapshot.recorded_at,
            state: state.to_owned(),
        };
        let request = self
            .request(Method::PUT, &["snapshots", snapshot.stream.as_str()])
            .json(&body);
        self.no_content(request, Some(&snapshot.stream)).await
    }

    async fn delete(&self, stream: &StreamName) -> Result<(), StoreError> {
        let request = self.request(Method::DELETE, &["snapshots", stream.as_str()]);
        self.no_content(request, Some(stream)).await
    }
}

impl Client {
    /// Sends `request`; success needs no body. `stream` is what the request was about.
    async fn no_content(
        &self,
        request: RequestBuilder,
        stream: Option<&StreamName>,
    ) -> Result<(), StoreError> {
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(wire::error_of(response, stream).await);
        }
        Ok(())
    }
}
