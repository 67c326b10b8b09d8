//! The conformance suite on the embedded engine.

async fn fresh_store() -> eventfold_store::testing::TestStore {
    eventfold_store::testing::embedded_store()
}

eventfold_store::conformance_suite!(fresh_store);
