//! A LISTEN connection that stops answering (a half-open connection: the server side frozen
//! here with SIGSTOP) is noticed and replaced. Needs `EVENTFOLD_TEST_POSTGRES` (CI sets it) and
//! the right to signal PostgreSQL's processes (root, as in CI); without either it returns at
//! once.

use std::process::Command;
use std::time::{Duration, Instant};

use eventfold_postgres::{PostgresOptions, PostgresStore};
use tokio_postgres::NoTls;

const SCHEMA: &str = "eventfold_listen";
const CHANNEL_LISTEN: &str = "LISTEN \"eventfold_head_eventfold_listen\"";

/// The backends whose last statement was this schema's LISTEN.
async fn listeners(client: &tokio_postgres::Client) -> Vec<i32> {
    client
        .query(
            "SELECT pid FROM pg_stat_activity WHERE query = $1",
            &[&CHANNEL_LISTEN],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn signal(pid: i32, signal: &str) -> bool {
    Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .is_ok_and(|status| status.success())
}

/// Lets a frozen backend go on (and notice its client is gone), whatever the test's outcome.
struct Thaw(i32);

impl Drop for Thaw {
    fn drop(&mut self) {
        signal(self.0, "-CONT");
    }
}

#[tokio::test]
async fn a_listener_that_stops_answering_is_replaced() {
    let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
        return;
    };
    let (observer, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    observer
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        .await
        .unwrap();
    let options = PostgresOptions {
        schema: Some(SCHEMA.into()),
        poll_interval: Duration::from_millis(500),
        ..PostgresOptions::default()
    };
    let _store = PostgresStore::connect(&url, options).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let frozen = loop {
        if let [pid] = listeners(&observer).await[..] {
            break pid;
        }
        assert!(Instant::now() < deadline, "the store never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if !signal(frozen, "-STOP") {
        eprintln!("cannot signal PostgreSQL's backend {frozen}; skipping");
        return;
    }
    let _thaw = Thaw(frozen);
    // A ping after a quiet interval goes unanswered; the store listens on a new connection.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = listeners(&observer).await;
        if now.iter().any(|pid| *pid != frozen) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new listener while {frozen} is frozen: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
