//! Reads: one stream, and the global log, honouring every stream's metadata and deletion.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use eventfold_store::embedded::internals::time_to_nanos;
use eventfold_store::rules::{StreamHead, StreamState};
use eventfold_store::{
    AllFrom, AllSlice, Direction, Position, ReadAll, ReadStream, RecordedEvent, StoreError,
    StreamFrom, StreamMetadata, StreamName,
};

use crate::append_rows::{self, AppendRow};
use crate::pg_error;

/// Positions one `$all` read examines at most (filtered reads return fewer events, with `next`
/// past what was examined), so a sparse filter never scans the whole table at once.
const SCAN_POSITIONS_MAX: u64 = 65_536;

/// The columns [`AppendDecoder::events`] reads, first in a query's select list.
const APPEND_COLUMNS: &str =
    "a.first_position, a.stream, a.first_revision, a.event_count, a.recorded_ns, a.events";

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
    head_from(row, 0)
}

/// A stream's head from the four columns of `head_of` starting at column `first`.
fn head_from(row: &Row, first: usize) -> Result<StreamHead, StoreError> {
    let metadata: String = row.get(first + 3);
    let metadata: StreamMetadata = serde_json::from_str(&metadata)
        .map_err(|error| corrupted(format!("stream metadata: {error}")))?;
    Ok(StreamHead {
        next_revision: row.get::<_, i64>(first) as u64,
        state: Arc::new(StreamState {
            metadata,
            deleted_before: row.get::<_, i64>(first + 1) as u64,
            tombstoned: row.get(first + 2),
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

/// Turns append rows into events, checking each stream name once per page (a page of `$all`
/// holds many appends of few streams).
#[derive(Default)]
struct AppendDecoder {
    streams: std::collections::HashMap<String, StreamName>,
}

impl AppendDecoder {
    /// The events of a row that starts with [`APPEND_COLUMNS`], in revision order.
    fn events(&mut self, row: &Row) -> Result<Vec<RecordedEvent>, StoreError> {
        let name: &str = row.get(1);
        let stream = match self.streams.get(name) {
            Some(stream) => stream.clone(),
            None => {
                let stream = StreamName::new(name).map_err(|error| corrupted(error.to_string()))?;
                self.streams.insert(name.to_owned(), stream.clone());
                stream
            }
        };
        let first_position = row.get::<_, i64>(0) as u64;
        let append = AppendRow {
            stream,
            first_position,
            first_revision: row.get::<_, i64>(2) as u64,
            event_count: row.get::<_, i32>(3) as u32,
            recorded_ns: row.get(4),
        };
        let blob: &[u8] = row.get(5);
        append_rows::decode(&append, Bytes::copy_from_slice(blob)).map_err(|error| {
            corrupted(format!(
                "the append at position {first_position} of {}: {error}",
                append.stream
            ))
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
    let (mut low, mut high) = (low, high);
    if head.state.metadata.max_age_secs.is_some() {
        // Events too old to show are a prefix of the stream (an append's events share one
        // recorded time, and recorded times never decrease along the log).
        let oldest = oldest_visible_ns(&head.state.metadata, chrono::Utc::now().timestamp());
        let first_young: Option<i64> = client
            .query_one(
                "SELECT min(first_revision) FROM eventfold_appends
                 WHERE stream = $1 AND recorded_ns >= $2",
                &[&stream.as_str(), &oldest],
            )
            .await
            .map_err(pg_error)?
            .get(0);
        match first_young {
            Some(first_young) => low = low.max(first_young as u64),
            None => return Ok(Vec::new()),
        }
        if low > high {
            return Ok(Vec::new());
        }
    }
    // Revisions are dense, so the range of `limit` revisions holds exactly the events wanted.
    let span = request.limit as u64 - 1;
    match request.direction {
        Direction::Forward => high = high.min(low.saturating_add(span)),
        Direction::Backward => low = low.max(high.saturating_sub(span)),
    }
    // The appends from the one holding `low` to the one holding `high`, in the order read,
    // taken row by row until the page's byte budget is spent: a page of large events holds
    // at most the budget and one append more, however many events it may hold.
    let order = match request.direction {
        Direction::Forward => "ASC",
        Direction::Backward => "DESC",
    };
    let (stream_text, low_int, high_int) = (stream.as_str(), to_sql_int(low), to_sql_int(high));
    let params: [&(dyn ToSql + Sync); 3] = [&stream_text, &low_int, &high_int];
    let rows = client
        .query_raw(
            &format!(
                "SELECT {APPEND_COLUMNS} FROM eventfold_appends a
                 WHERE a.stream = $1 AND a.first_revision BETWEEN
                     COALESCE((SELECT max(first_revision) FROM eventfold_appends
                               WHERE stream = $1 AND first_revision <= $2), $2) AND $3
                 ORDER BY a.first_revision {order}"
            ),
            params,
        )
        .await
        .map_err(pg_error)?;
    futures::pin_mut!(rows);
    let mut decoder = AppendDecoder::default();
    let mut events = Vec::with_capacity(((high - low + 1) as usize).min(1024));
    let mut bytes = 0usize;
    while let Some(row) = rows.try_next().await.map_err(pg_error)? {
        let mut appended: Vec<RecordedEvent> = decoder
            .events(&row)?
            .into_iter()
            .filter(|event| (low..=high).contains(&event.revision.0))
            .collect();
        if request.direction == Direction::Backward {
            appended.reverse();
        }
        bytes += appended
            .iter()
            .map(eventfold_store::rules::event_bytes)
            .sum::<usize>();
        events.extend(appended);
        if bytes > request.bytes_max {
            break;
        }
    }
    eventfold_store::rules::cut_to_bytes(&mut events, request.bytes_max);
    Ok(events)
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
/// decreases along positions and positions are dense, so a binary search over the appends'
/// primary key finds it in about log2(head) lookups, with no index on time to maintain.
async fn first_at_or_after(client: &Client, nanos: i64, head: u64) -> Result<u64, StoreError> {
    let statement = client
        .prepare(
            "SELECT recorded_ns, first_position + event_count FROM eventfold_appends
             WHERE first_position <= $1 ORDER BY first_position DESC LIMIT 1",
        )
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
            Some(row) if row.get::<_, i64>(1) as u64 > middle => row.get(0),
            _ => {
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
    // The appends in a range of positions, with the hiding state of their stream when its
    // metadata or deletion hides events; `{lower}` is where the range's appends start. The
    // stream and type conditions only skip appends with nothing wanted: each event is checked
    // again after decoding.
    let sql = |lower: &str| {
        format!(
            "SELECT {APPEND_COLUMNS}, s.next_revision, s.deleted_before, s.tombstoned, s.metadata
             FROM eventfold_appends a
             LEFT JOIN eventfold_streams s ON s.stream = a.stream AND s.hides
             WHERE a.first_position BETWEEN {lower} AND $2
               AND ($3::text IS NULL OR a.category = $3)
               AND ($4::text IS NULL OR starts_with(a.stream, $4))
               AND (cardinality($5::text[]) = 0
                    OR string_to_array(a.event_types, E'\\n') && $5)
             ORDER BY a.first_position {order}"
        )
    };
    // From the append holding the range's first position, or from the first append starting
    // in the range (the upper half of a split range, whose lower half has the append across).
    let holding_first = sql(
        "COALESCE((SELECT max(first_position) FROM eventfold_appends WHERE first_position <= $1), $1)",
    );
    let holding_first_limited = format!("{holding_first} LIMIT $6");
    let starting_in = sql("$1");
    // Examine at most SCAN_POSITIONS_MAX positions, in ranges: without a filter a range of the
    // events still wanted (positions are dense, so it holds them unless metadata hides some),
    // which keeps the plan a short index scan; with one, everything left at once.
    let mut events = Vec::with_capacity(request.limit.min(1024));
    // The bytes of the events found so far (the page's budget counts them all).
    let mut page_bytes = 0usize;
    let mut decoder = AppendDecoder::default();
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
        let (mut low, mut high) = match request.direction {
            Direction::Forward => (cursor, (cursor + span).min(head) - 1),
            Direction::Backward => (cursor.saturating_sub(span - 1), cursor),
        };
        let params: [&(dyn ToSql + Sync); 5] = [
            &to_sql_int(low),
            &to_sql_int(high),
            &filter.category,
            &filter.stream_prefix,
            &types,
        ];
        // Up to one event more than wanted, to tell whether the range holds more; and no more
        // rows once the page's byte budget is passed (the cut below then ends the page).
        let mut found = Vec::new();
        let mut take = |row: &Row| -> Result<bool, StoreError> {
            let hiding = row
                .get::<_, Option<i64>>(6)
                .is_some()
                .then(|| Hiding::of(row, now_secs))
                .transpose()?;
            let mut appended = decoder.events(row)?;
            if request.direction == Direction::Backward {
                appended.reverse();
            }
            for event in appended.into_iter().filter(|event| {
                (low..=high).contains(&event.position.0)
                    && hiding.as_ref().is_none_or(|hiding| hiding.shows(event))
                    && filter.matches(event)
            }) {
                page_bytes += eventfold_store::rules::event_bytes(&event);
                found.push(event);
            }
            Ok(found.len() > wanted || page_bytes > request.bytes_max)
        };
        match second {
            // The first range of an unfiltered read holds about as many positions as events
            // are wanted, so both halves are small; they are read whole, at once.
            Some(second)
                if examined == 0 && filter.is_empty() && high - low + 1 >= SPLIT_POSITIONS_MIN =>
            {
                let middle = low + (high - low).div_ceil(2);
                let (low_half, high_half) = (to_sql_int(middle - 1), to_sql_int(middle));
                let mut lower: [&(dyn ToSql + Sync); 5] = params;
                lower[1] = &low_half;
                let mut upper: [&(dyn ToSql + Sync); 5] = params;
                upper[0] = &high_half;
                // Row by row from both connections (each holds back its rows until they are
                // taken), so a page of large events never holds more than its budget.
                let (lower, upper) = futures::try_join!(
                    client.query_raw(&holding_first, lower),
                    second.query_raw(&starting_in, upper)
                )
                .map_err(pg_error)?;
                futures::pin_mut!(lower, upper);
                let (first, then) = match request.direction {
                    Direction::Forward => (lower, upper),
                    Direction::Backward => (upper, lower),
                };
                let mut full = false;
                for mut rows in [first, then] {
                    while let Some(row) = rows.try_next().await.map_err(pg_error)? {
                        if take(&row)? {
                            full = true;
                            break;
                        }
                    }
                    if full {
                        break;
                    }
                }
            }
            // Anything wider (a filter, or metadata hiding stretches of the log) takes at most
            // one append more than events are wanted (each holds one event at least), row by
            // row, leaving as soon as the page is full: a sparse filter over a wide range must
            // neither hold nor fetch every matching append at once. When the limit cuts the
            // range short, the range ends where the last append taken ends.
            _ => {
                let appends_max = to_sql_int(wanted as u64 + 1);
                let mut limited: Vec<&(dyn ToSql + Sync)> = params.to_vec();
                limited.push(&appends_max);
                let rows = client
                    .query_raw(&holding_first_limited, limited)
                    .await
                    .map_err(pg_error)?;
                futures::pin_mut!(rows);
                let mut taken = 0i64;
                let mut last_covered = None;
                while let Some(row) = rows.try_next().await.map_err(pg_error)? {
                    taken += 1;
                    let first = row.get::<_, i64>(0) as u64;
                    let count = u64::from(row.get::<_, i32>(3).unsigned_abs());
                    last_covered = Some(match request.direction {
                        Direction::Forward => first + count.max(1) - 1,
                        Direction::Backward => first,
                    });
                    if take(&row)? {
                        break;
                    }
                }
                if taken == appends_max {
                    match (request.direction, last_covered) {
                        (Direction::Forward, Some(end)) => high = high.min(end),
                        (Direction::Backward, Some(start)) => low = low.max(start),
                        _ => {}
                    }
                }
            }
        }
        let more = found.len() > wanted;
        events.extend(found.into_iter().take(wanted));
        examined += high - low + 1;
        let (next, end_of_log) = match (request.direction, more) {
            (Direction::Forward, true) => (events[events.len() - 1].position.0 + 1, false),
            (Direction::Backward, true) => (events[events.len() - 1].position.0 - 1, false),
            (Direction::Forward, false) => (high + 1, high + 1 >= head),
            (Direction::Backward, false) if low == 0 => (0, true),
            (Direction::Backward, false) => (low - 1, false),
        };
        if eventfold_store::rules::cut_to_bytes(&mut events, request.bytes_max) {
            // The page ends at its byte budget: the next one starts right after its last event.
            let last = events[events.len() - 1].position.0;
            let next = match request.direction {
                Direction::Forward => last + 1,
                Direction::Backward => last.saturating_sub(1),
            };
            return Ok(AllSlice {
                events,
                next: Position(next),
                end_of_log: false,
            });
        }
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

/// What a stream's metadata or deletion hides, for `$all` reads.
struct Hiding {
    tombstoned: bool,
    first_visible: u64,
    oldest_ns: i64,
}

impl Hiding {
    /// From a `$all` row's stream columns (after [`APPEND_COLUMNS`]), at `now_secs`.
    fn of(row: &Row, now_secs: i64) -> Result<Self, StoreError> {
        let head = head_from(row, 6)?;
        Ok(Self {
            tombstoned: head.state.tombstoned,
            first_visible: head.first_visible_revision(),
            oldest_ns: oldest_visible_ns(&head.state.metadata, now_secs),
        })
    }

    fn shows(&self, event: &RecordedEvent) -> bool {
        !self.tombstoned
            && event.revision.0 >= self.first_visible
            && time_to_nanos(event.recorded_at) >= self.oldest_ns
    }
}
