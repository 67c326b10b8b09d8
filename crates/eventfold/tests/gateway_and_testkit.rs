//! Replay-aware gateways and the decider test kit.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{Ledger, LedgerCommand, LedgerDecider, LedgerError, LedgerEvent};
use eventfold::gateway::{External, Gateway, GatewayMode, Sent};
use eventfold::store::testing::embedded_store;
use eventfold::testkit::DeciderTest;
use parking_lot::Mutex;
use serde_json::{json, Value};
use uuid::Uuid;

/// An exchange-rate service whose rate changes over time, and a payment system.
#[derive(Default)]
struct Bank {
    rate: Mutex<f64>,
    payments: Mutex<Vec<Value>>,
    queries: Mutex<u32>,
}

#[async_trait::async_trait]
impl External for Bank {
    async fn send(&self, command: &Value) -> Result<(), String> {
        self.payments.lock().push(command.clone());
        Ok(())
    }
    async fn query(&self, _query: &Value) -> Result<Value, String> {
        *self.queries.lock() += 1;
        Ok(json!(*self.rate.lock()))
    }
}

/// The code under replay: pays out an amount in euros at the current rate. `fixed` applies a
/// fee the original forgot.
async fn pay_out(gateway: &Gateway, cause: Uuid, dollars: f64, fixed: bool) {
    let rate = gateway
        .query(cause, json!({"rate": "USD/EUR"}))
        .await
        .unwrap();
    let euros = dollars * rate.as_f64().unwrap() - if fixed { 1.0 } else { 0.0 };
    gateway
        .send(cause, json!({"pay_eur": euros}))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_bug_fix_replay_uses_recorded_answers_sends_nothing_and_yields_the_correction() {
    let test = embedded_store();
    let bank = Arc::new(Bank::default());
    let name = format!("fx{}", Uuid::new_v4().simple());
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());

    let live = Gateway::live(&name, test.store.clone(), bank.clone())
        .await
        .unwrap();
    assert_eq!(live.mode(), GatewayMode::Live);
    *bank.rate.lock() = 0.5;
    pay_out(&live, a, 100.0, false).await;
    *bank.rate.lock() = 0.8;
    pay_out(&live, b, 10.0, false).await;
    assert_eq!(
        *bank.payments.lock(),
        vec![json!({"pay_eur": 50.0}), json!({"pay_eur": 8.0})]
    );

    // Processing `a` again live (a restart before the checkpoint moved) calls nobody again.
    let restarted = Gateway::live(&name, test.store.clone(), bank.clone())
        .await
        .unwrap();
    pay_out(&restarted, a, 100.0, false).await;
    assert_eq!(bank.payments.lock().len(), 2, "no second payment");
    assert_eq!(
        *bank.queries.lock(),
        2,
        "the rate of then, from the journal"
    );

    // Today's rate differs; a replay must use the rates answered then.
    *bank.rate.lock() = 2.0;
    let replay = Gateway::replay(&name, test.store.clone(), bank.clone())
        .await
        .unwrap();
    pay_out(&replay, a, 100.0, true).await;
    pay_out(&replay, b, 10.0, true).await;
    assert_eq!(
        bank.payments.lock().len(),
        2,
        "nothing went out during the replay"
    );
    assert_eq!(*bank.queries.lock(), 2, "the replay asked nobody");
    assert_eq!(
        replay.sent(),
        vec![
            Sent {
                cause: a,
                command: json!({"pay_eur": 49.0})
            },
            Sent {
                cause: b,
                command: json!({"pay_eur": 7.0})
            },
        ]
    );
    let correction = replay.correction(&HashSet::from([a, b]));
    assert_eq!(correction.to_send.len(), 2);
    assert_eq!(
        correction.sent_wrongly,
        vec![
            Sent {
                cause: a,
                command: json!({"pay_eur": 50.0})
            },
            Sent {
                cause: b,
                command: json!({"pay_eur": 8.0})
            },
        ]
    );

    // Replaying only `a` with the original code changes nothing.
    let same = Gateway::replay(&name, test.store.clone(), bank.clone())
        .await
        .unwrap();
    pay_out(&same, a, 100.0, false).await;
    assert!(same.correction(&HashSet::from([a])).is_empty());

    // A query the original never made cannot be answered in replay.
    let error = same.query(a, json!({"rate": "USD/GBP"})).await.unwrap_err();
    assert!(error.to_string().contains("no recorded answer"), "{error}");
}

#[test]
fn the_test_kit_checks_events_and_errors() {
    let opened = LedgerEvent::Opened { owner: "k".into() };
    let state: Ledger = DeciderTest::new(LedgerDecider)
        .given([opened.clone(), LedgerEvent::Credited { amount: 60 }])
        .when(LedgerCommand::Debit(10))
        .then([LedgerEvent::Debited { amount: 10 }]);
    assert_eq!(state.balance, 50);
    DeciderTest::new(LedgerDecider)
        .given([opened.clone()])
        .when(LedgerCommand::Debit(1))
        .then_error(LedgerError::Insufficient {
            balance: 0,
            amount: 1,
        });
    DeciderTest::new(LedgerDecider)
        .given([])
        .when(LedgerCommand::Credit(1))
        .then_error_matches(|error| *error == LedgerError::NotOpen);
}

#[test]
#[should_panic(expected = "the command produced other events")]
fn the_test_kit_fails_on_other_events() {
    DeciderTest::new(LedgerDecider)
        .given([LedgerEvent::Opened { owner: "l".into() }])
        .when(LedgerCommand::Credit(5))
        .then([LedgerEvent::Credited { amount: 6 }]);
}
