//! How much memory the pages of `GET /streams/{stream}` and `GET /all` may hold: each page has
//! a byte budget (the store ends a page before the event that would pass it), and at most so
//! many pages are read at once, so reads hold at most `pages_in_flight_max ×
//! page_bytes_max` of events (and about as much again as their JSON), however many clients ask.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use eventfold_store::READ_PAGE_BYTES_MIN;

use crate::ApiError;

/// The page budget and the pages being read.
#[derive(Clone)]
pub struct Pages {
    bytes_max: usize,
    in_flight: Arc<Semaphore>,
}

impl Pages {
    /// Pages of at most `bytes_max` bytes (never under [`READ_PAGE_BYTES_MIN`]), at most
    /// `in_flight_max` read at once.
    pub fn new(bytes_max: usize, in_flight_max: usize) -> Self {
        Self {
            bytes_max: bytes_max.max(READ_PAGE_BYTES_MIN),
            in_flight: Arc::new(Semaphore::new(in_flight_max.max(1))),
        }
    }

    /// The budget of one page: the server's, or the smaller one a client asks for.
    pub fn budget(&self, asked: Option<usize>) -> Result<usize, ApiError> {
        match asked {
            Some(0) => Err(ApiError::invalid("bytes_max: at least 1")),
            Some(asked) => Ok(asked.min(self.bytes_max)),
            None => Ok(self.bytes_max),
        }
    }

    /// Waits for a turn to read a page (the request's time-out bounds the wait).
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.in_flight
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::unavailable("the server is stopping"))
    }
}
