//! A projection whose read model and checkpoint live in PostgreSQL (`EVENTFOLD_TEST_POSTGRES`;
//! without it this test returns at once).

mod common;

use common::{LedgerCommand, LedgerDecider, LedgerEvent};
use eventfold::event::{decode, Upcasters};
use eventfold::projection::{PostgresReadModel, PostgresTx, Projection, Projector};
use eventfold::store::testing::embedded_store;
use eventfold::store::{EventFilter, RecordedEvent};
use eventfold::{CommandHandler, SdkError};

/// Per ledger, the balance, in a table of this test's own.
struct Balances {
    name: String,
    category: String,
}

impl Projection<PostgresReadModel> for Balances {
    fn name(&self) -> &str {
        &self.name
    }
    fn filter(&self) -> EventFilter {
        EventFilter {
            category: Some(self.category.clone()),
            ..EventFilter::default()
        }
    }
    fn setup(&self, tx: &mut PostgresTx<'_>) -> Result<(), SdkError> {
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (ledger text PRIMARY KEY, balance bigint NOT NULL)",
            self.name
        ))
    }
    fn apply(&self, tx: &mut PostgresTx<'_>, event: &RecordedEvent) -> Result<(), SdkError> {
        let delta: i64 = match decode::<LedgerEvent>(event, &Upcasters::new())?.event {
            LedgerEvent::Credited { amount } => amount as i64,
            LedgerEvent::Debited { amount } => -(amount as i64),
            _ => 0,
        };
        tx.execute(
            &format!(
                "INSERT INTO {} (ledger, balance) VALUES ($1, $2)
                 ON CONFLICT (ledger) DO UPDATE SET balance = {}.balance + excluded.balance",
                self.name, self.name
            ),
            &[&event.stream.as_str(), &delta],
        )
        .map(drop)
    }
    fn purge(&self, tx: &mut PostgresTx<'_>) -> Result<(), SdkError> {
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", self.name))
    }
}

async fn total(model: &PostgresReadModel, suffix: &str) -> i64 {
    let sql = format!("SELECT sum(balance)::bigint FROM balances_{suffix}");
    model.client().query_one(&sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_keeps_its_model_and_checkpoint_in_postgresql() {
    let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
        return;
    };
    let test = embedded_store();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let category = format!("ledger{suffix}");
    let handler = CommandHandler::new(LedgerDecider, test.store.clone());
    for n in 0..3u64 {
        let stream = eventfold::StreamName::new(&format!("{category}-{n}")).unwrap();
        handler
            .handle(&stream, &LedgerCommand::Open("p".into()))
            .await
            .unwrap();
        handler
            .handle(&stream, &LedgerCommand::Credit(10 * (n + 1)))
            .await
            .unwrap();
    }
    let projection = || Balances {
        name: format!("balances_{suffix}"),
        category: category.clone(),
    };
    let model = PostgresReadModel::connect(&url).await.unwrap();
    let mut projector = Projector::new(test.store.clone(), projection(), model).unwrap();
    assert_eq!(projector.catch_up(|_| {}).await.unwrap().applied, 6);
    let head = test.store.head_position().await.unwrap().0;
    assert_eq!(projector.checkpoint().unwrap(), Some(head));
    assert_eq!(total(projector.model(), &suffix).await, 60);

    // Another node's projector resumes from the checkpoint in the database.
    let s0 = eventfold::StreamName::new(&format!("{category}-0")).unwrap();
    handler.handle(&s0, &LedgerCommand::Debit(5)).await.unwrap();
    let elsewhere = PostgresReadModel::connect(&url).await.unwrap();
    let mut other = Projector::new(test.store.clone(), projection(), elsewhere).unwrap();
    assert_eq!(other.catch_up(|_| {}).await.unwrap().applied, 1);
    assert_eq!(total(other.model(), &suffix).await, 55);

    // A rebuild gives the same model.
    assert_eq!(other.rebuild(|_| {}).await.unwrap().applied, 7);
    assert_eq!(total(other.model(), &suffix).await, 55);
    other
        .model()
        .client()
        .batch_execute(&format!(
            "DROP TABLE balances_{suffix};
             DELETE FROM eventfold_projection_checkpoints WHERE projection = 'balances_{suffix}'"
        ))
        .await
        .unwrap();
}
