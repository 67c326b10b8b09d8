//! The conformance suite on the real PostgreSQL named by `EVENTFOLD_TEST_POSTGRES` (CI sets it;
//! without it these tests return at once), in the schema `eventfold_conformance`: the cases name
//! their streams apart, so they share it (as several nodes share a database).

use std::sync::Arc;

use eventfold_postgres::{PostgresOptions, PostgresStore};
use eventfold_store::testing::TestStore;

async fn fresh_store() -> Option<TestStore> {
    let url = std::env::var("EVENTFOLD_TEST_POSTGRES").ok()?;
    let options = PostgresOptions {
        schema: Some("eventfold_conformance".into()),
        ..PostgresOptions::default()
    };
    let store = PostgresStore::connect(&url, options)
        .await
        .expect("PostgreSQL at EVENTFOLD_TEST_POSTGRES");
    Some(TestStore {
        store: Arc::new(store),
        guard: Box::new(()),
    })
}

eventfold_store::conformance_suite!(optional fresh_store);
