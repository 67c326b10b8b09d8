//! The conformance suite: the semantics every backend must have, as tests.
//!
//! A backend runs the whole suite with one line in its tests:
//!
//! ```ignore
//! async fn fresh_store() -> eventfold_store::testing::TestStore { /* … */ }
//! eventfold_store::conformance_suite!(fresh_store);
//! ```
//!
//! Every case names its streams with a fresh random category, so the suite also runs against a
//! shared backend (one PostgreSQL database, one server) without cases seeing each other.

pub mod cases;

use std::any::Any;
use std::sync::Arc;

use crate::EventStore;

/// A store under test, and whatever must live as long as it (a temporary directory, a server).
pub struct TestStore {
    /// The store.
    pub store: Arc<dyn EventStore>,
    /// Dropped after the case.
    pub guard: Box<dyn Any + Send>,
}

/// A fresh embedded store in a temporary directory.
pub fn embedded_store() -> TestStore {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = crate::embedded::EmbeddedStore::open(dir.path(), Default::default())
        .expect("the embedded store opens");
    TestStore {
        store: Arc::new(store),
        guard: Box::new(dir),
    }
}

/// Generates one `#[tokio::test]` per conformance case, each on a store from `$make` (an async
/// fn returning [`TestStore`]). With `optional`, `$make` returns `Option<TestStore>` and a case
/// whose backend is not configured (`None`) returns at once: for backends that need a server,
/// such as PostgreSQL when `EVENTFOLD_TEST_POSTGRES` is unset.
#[macro_export]
macro_rules! conformance_suite {
    (optional $make:path) => {
        $crate::conformance_suite!(@list optional $make);
    };
    ($make:path) => {
        $crate::conformance_suite!(@list required $make);
    };
    (@list $kind:ident $make:path) => {
        $crate::conformance_suite!(@cases $kind $make;
            append_and_read_both_directions,
            expected_revision_rules,
            wrong_expected_revision_reports_the_actual_revision,
            concurrent_appends_exactly_one_wins_per_revision,
            concurrent_appends_to_many_streams_keep_order,
            idempotent_retry_with_exact_revision,
            idempotent_retry_with_no_stream,
            idempotent_retry_with_any,
            only_a_whole_earlier_append_is_a_retry,
            reused_event_id_in_another_stream_is_refused,
            read_all_pages_forward_and_backward,
            read_all_filters_by_category_type_and_prefix,
            read_all_from_a_time,
            read_all_from_the_end,
            subscribe_all_hands_over_from_history_to_live,
            subscribe_all_with_filter_sends_checkpoints,
            subscribe_stream_before_it_exists,
            subscribe_from_the_end_sees_only_new_events,
            metadata_max_count_and_truncate_before,
            metadata_max_age,
            metadata_round_trips,
            oversized_or_too_deep_metadata_is_refused,
            soft_delete_then_write_again,
            hard_delete_is_final,
            stream_revision_reports_the_head,
            missing_stream_is_not_found,
            bad_appends_are_refused_and_change_nothing,
            extreme_numbers_are_ordinary_inputs,
            oversized_filters_are_refused,
            event_fields_round_trip,
            pages_end_at_their_byte_budget,
            hidden_events_do_not_use_the_byte_budget,
        );
    };
    (@cases required $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let test_store = $make().await;
                $crate::testing::cases::$case(&*test_store.store).await;
                drop(test_store);
            }
        )*
    };
    (@cases optional $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(test_store) = $make().await else {
                    return;
                };
                $crate::testing::cases::$case(&*test_store.store).await;
                drop(test_store);
            }
        )*
    };
}
