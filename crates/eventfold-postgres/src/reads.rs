//! Reads: one stream, and the global log, honouring every stream's metadata and deletion.

use std::sync::Arc;

use bytes::Bytes;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use eventfold_store::embedded::format::{nanos_to_time, time_to_nanos};
use eventfold_store::rules::{StreamHead, StreamState};
use eventfold_store::{
    content_type_from, AllFrom, AllSlice, Direction, Position, ReadAll, ReadStream, RecordedEvent,
    Revision, StoreError, StreamFrom, StreamMetadata, StreamName,
};

use crate::pg_error;

/// Positions one `$all` read examines at most (filtered reads return fewer events, with `next`
/// past what was examined), so a sparse filter never scans the whole table at once.
const SCAN_POSITIONS_MAX: u64 = 65_536;

const EVENT_COLUMNS: &str = "e.position, e.stream, e.revision, e.id, e.event_type, \
     e.content_type, e.data, e.metadata, e.occurred_ns, e.recorded_ns";

/// A `u64` as PostgreSQL's `bigint`, saturating.
pub fn to_sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn corrupted(what: String) -> StoreError {
    StoreError::Backend(format!("unexpected data in the database: {what}"))
}

/// A stream's head from its `eventfold_streams` row (`next_revision, deleted_before,
/// tombstoned, metadata`).
pub fn head_of(row: &Row) -> Result<StreamHead, StoreError> {
    let metadata: String = row.get(3);
    let metadata: StreamMetadata = serde_json::from_str(&metadata)
        .map_err(|error| corrupted(format!("stream metadata: {error}")))?;
    Ok(StreamHead {
        next_revision: row.get::<_, i64>(0) as u64,
        state: Arc::new(StreamState {
            metadata,
            deleted_before: row.get::<_, i64>(1) as u64,
            tombstoned: row.get(2),
        }),
    })
}

/// The head of `stream`, if it was ever written.
pub async fn stream_head(
    client: &Client,
    stream: &StreamName,
) -> Result<Option<StreamHead>, StoreError> {
    let row = client
        .query_opt(
            "SELECT next_revision, deleted_before, tombstoned, metadata
             FROM eventfold_streams WHERE stream = $1",
            &[&stream.as_str()],
        )
        .await
        .map_err(pg_error)?;
    row.as_ref().map(head_of).transpose()
}

/// Turns rows into events, checking each stream name once per page (a page of `$all` holds
/// many events of few streams).
#[derive(Default)]
struct EventDecoder {
    streams: std::collections::HashMap<String, StreamName>,
}

impl EventDecoder {
    fn event(&mut self, row: &Row) -> Result<RecordedEvent, StoreError> {
        let name: &str = row.get(1);
        let stream = match self.streams.get(name) {
            Some(stream) => stream.clone(),
            None => {
                let stream = StreamName::new(name).map_err(|error| corrupted(error.to_string()))?;
                self.streams.insert(name.to_owned(), stream.clone());
                stream
            }
        };
        let content_type: &str = row.get(5);
        let data: &[u8] = row.get(6);
        let metadata: &[u8] = row.get(7);
        Ok(RecordedEvent {
            position: Position(row.get::<_, i64>(0) as u64),
            stream,
            revision: Revision(row.get::<_, i64>(2) as u64),
            id: row.get(3),
            event_type: row.get(4),
            content_type: content_type_from(content_type),
            data: Bytes::copy_from_slice(data),
            metadata: Bytes::copy_from_slice(metadata),
            occurred_at: row.get::<_, Option<i64>>(8).map(nanos_to_time),
            recorded_at: nanos_to_time(row.get(9)),
        })
    }
}

/// The oldest `recorded_ns` a stream's max-age lets reads return at `now_secs`.
fn oldest_visible_ns(metadata: &StreamMetadata, now_secs: i64) -> i64 {
    match metadata.max_age_secs {
        Some(age) => now_secs
            .saturating_sub(i64::try_from(age).unwrap_or(i64::MAX))
            .saturating_mul(1_000_000_000),
        None => i64::MIN,
    }
}

pub async fn read_stream(
    client: &Client,
    stream: &StreamName,
    request: ReadStream,
) -> Result<Vec<RecordedEvent>, StoreError> {
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let head = stream_head(client, stream)
        .await?
        .ok_or_else(|| StoreError::StreamNotFound(stream.clone()))?;
    if head.state.tombstoned {
        return Err(StoreError::StreamDeleted(stream.clone()));
    }
    if !head.exists() {
        return Err(StoreError::StreamNotFound(stream.clone()));
    }
    let first = head.first_visible_revision();
    let last = head.next_revision - 1;
    let range = match (request.direction, request.from) {
        (Direction::Forward, StreamFrom::End) => None,
        (Direction::Forward, StreamFrom::Start) => Some((first, last)),
        (Direction::Forward, StreamFrom::Revision(r)) => Some((r.0.max(first), last)),
        (Direction::Backward, StreamFrom::End) => Some((first, last)),
        (Direction::Backward, StreamFrom::Start) => Some((first, first.min(last))),
        (Direction::Backward, StreamFrom::Revision(r)) => Some((first, r.0.min(last))),
    };
    let Some((low, high)) = range.filter(|(low, high)| low <= high) else {
        return Ok(Vec::new());
    };
    let order = match request.direction {
        Direction::Forward => "ASC",
        Direction::Backward => "DESC",
    };
    let oldest = oldest_visible_ns(&head.state.metadata, chrono::Utc::now().timestamp());
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM eventfold_events e
         WHERE e.stream = $1 AND e.revision BETWEEN $2 AND $3 AND e.recorded_ns >= $4
         ORDER BY e.revision {order} LIMIT $5"
    );
    let limit = to_sql_int(request.limit as u64);
    let rows = client
        .query(
            &sql,
            &[
                &stream.as_str(),
                &to_sql_int(low),
                &to_sql_int(high),
                &oldest,
                &limit,
            ],
        )
        .await
        .map_err(pg_error)?;
    let mut decoder = EventDecoder::default();
    rows.iter().map(|row| decoder.event(row)).collect()
}

/// The head of the log: every position below it is committed and visible.
pub async fn head(client: &Client) -> Result<u64, StoreError> {
    let head: i64 = client
        .query_one("SELECT next_position FROM eventfold_head", &[])
        .await
        .map_err(pg_error)?
        .get(0);
    Ok(head as u64)
}

/// The first position recorded at or after `nanos` (the head if none). `recorded_ns` never
/// decreases along positions and positions are dense, so a binary search over the primary key
/// finds it in about log2(head) lookups, with no index on time to maintain.
async fn first_at_or_after(client: &Client, nanos: i64, head: u64) -> Result<u64, StoreError> {
    let statement = client
        .prepare("SELECT recorded_ns FROM eventfold_events WHERE position = $1")
        .await
        .map_err(pg_error)?;
    let (mut low, mut high) = (0u64, head);
    while low < high {
        let middle = low + (high - low) / 2;
        let row = client
            .query_opt(&statement, &[&to_sql_int(middle)])
            .await
            .map_err(pg_error)?;
        let recorded: i64 = match row {
            Some(row) => row.get(0),
            None => {
                return Err(corrupted(format!(
                    "position {middle} is missing below the head {head}"
                )))
            }
        };
        if recorded >= nanos {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    Ok(low)
}

/// Ranges of at least this many positions are read in two halves on two connections at once.
pub const SPLIT_POSITIONS_MIN: u64 = 4096;

/// A page of `$all`. With `second`, a large unfiltered range is read in two halves at once.
pub async fn read_all(
    client: &Client,
    second: Option<&Client>,
    request: &ReadAll,
) -> Result<AllSlice, StoreError> {
    let head = head(client).await?;
    let start = match (request.from, request.direction) {
        (AllFrom::Start, Direction::Forward) => Some(0),
        (AllFrom::Start, Direction::Backward) => head.checked_sub(1).map(|_| 0),
        (AllFrom::End, Direction::Forward) => Some(head),
        (AllFrom::End, Direction::Backward) => head.checked_sub(1),
        (AllFrom::Position(p), Direction::Forward) => Some(p.0),
        (AllFrom::Position(p), Direction::Backward) => head.checked_sub(1).map(|h| p.0.min(h)),
        (AllFrom::Time(time), direction) => {
            let at = first_at_or_after(client, time_to_nanos(time), head).await?;
            match direction {
                Direction::Forward => Some(at),
                Direction::Backward => at.checked_sub(1),
            }
        }
    };
    let empty_end = |next| AllSlice {
        events: Vec::new(),
        next: Position(next),
        end_of_log: true,
    };
    let start = match (request.direction, start) {
        (Direction::Forward, Some(start)) if start >= head => {
            return Ok(empty_end(head.max(start)))
        }
        (_, Some(start)) => start,
        (_, None) => return Ok(empty_end(0)),
    };
    if request.limit == 0 {
        return Ok(AllSlice {
            events: Vec::new(),
            next: Position(start),
            end_of_log: false,
        });
    }
    let order = match request.direction {
        Direction::Forward => "ASC",
        Direction::Backward => "DESC",
    };
    let filter = &request.filter;
    let types: Vec<&str> = filter.event_types.iter().map(String::as_str).collect();
    let now_secs = chrono::Utc::now().timestamp();
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM eventfold_events e
         LEFT JOIN eventfold_streams s ON s.stream = e.stream AND s.hides
         WHERE e.position BETWEEN $1 AND $2
           AND (s.stream IS NULL OR (
               NOT s.tombstoned
               AND e.revision >= GREATEST(s.deleted_before, COALESCE(s.truncate_before, 0),
                                          s.next_revision - COALESCE(s.max_count, s.next_revision))
               AND (s.max_age_secs IS NULL
                    OR e.recorded_ns / 1000000000 >= $3::bigint - s.max_age_secs)))
           AND ($4::text IS NULL OR e.category = $4)
           AND ($5::text IS NULL OR starts_with(e.stream, $5))
           AND (cardinality($6::text[]) = 0 OR e.event_type = ANY($6))
         ORDER BY e.position {order} LIMIT $7"
    );
    // Examine at most SCAN_POSITIONS_MAX positions, in ranges: without a filter a range of the
    // events still wanted (positions are dense, so it holds them unless metadata hides some),
    // which keeps the plan a short index scan; with one, everything left at once.
    let mut events = Vec::with_capacity(request.limit.min(1024));
    let mut decoder = EventDecoder::default();
    let mut cursor = start;
    let mut examined = 0u64;
    // Each further range is four times wider, so hidden stretches cost a few queries, not many.
    let mut widen = 1u64;
    loop {
        let wanted = request.limit - events.len();
        let left = SCAN_POSITIONS_MAX - examined;
        let span = if filter.is_empty() {
            (wanted as u64).saturating_mul(widen).clamp(1, left)
        } else {
            left
        };
        widen = widen.saturating_mul(4);
        let (low, high) = match request.direction {
            Direction::Forward => (cursor, (cursor + span).min(head) - 1),
            Direction::Backward => (cursor.saturating_sub(span - 1), cursor),
        };
        let limit = to_sql_int(wanted as u64 + 1);
        let params: [&(dyn ToSql + Sync); 7] = [
            &to_sql_int(low),
            &to_sql_int(high),
            &now_secs,
            &filter.category,
            &filter.stream_prefix,
            &types,
            &limit,
        ];
        let rows = match second {
            Some(second) if filter.is_empty() && high - low + 1 >= SPLIT_POSITIONS_MIN => {
                let middle = low + (high - low).div_ceil(2);
                let (low_half, high_half) = (to_sql_int(middle - 1), to_sql_int(middle));
                let mut lower: [&(dyn ToSql + Sync); 7] = params;
                lower[1] = &low_half;
                let mut upper: [&(dyn ToSql + Sync); 7] = params;
                upper[0] = &high_half;
                let (lower, upper) =
                    futures::try_join!(client.query(&sql, &lower), second.query(&sql, &upper))
                        .map_err(pg_error)?;
                match request.direction {
                    Direction::Forward => lower.into_iter().chain(upper).collect(),
                    Direction::Backward => upper.into_iter().chain(lower).collect(),
                }
            }
            _ => client.query(&sql, &params).await.map_err(pg_error)?,
        };
        let more = rows.len() > wanted;
        for row in rows.iter().take(wanted) {
            events.push(decoder.event(row)?);
        }
        examined += high - low + 1;
        let (next, end_of_log) = match (request.direction, more) {
            (Direction::Forward, true) => (events[events.len() - 1].position.0 + 1, false),
            (Direction::Backward, true) => (events[events.len() - 1].position.0 - 1, false),
            (Direction::Forward, false) => (high + 1, high + 1 >= head),
            (Direction::Backward, false) if low == 0 => (0, true),
            (Direction::Backward, false) => (low - 1, false),
        };
        if more || end_of_log || events.len() == request.limit || examined >= SCAN_POSITIONS_MAX {
            return Ok(AllSlice {
                events,
                next: Position(next),
                end_of_log,
            });
        }
        cursor = next;
    }
}
