//! A small ledger domain for the SDK's tests.
#![allow(dead_code)]

use serde::{Deserialize, Serialize};

use eventfold::{Decider, DomainEvent};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LedgerEvent {
    Opened { owner: String },
    Credited { amount: u64 },
    Debited { amount: u64 },
    Closed,
}

impl DomainEvent for LedgerEvent {}

#[derive(Clone, Debug)]
pub enum LedgerCommand {
    Open(String),
    Credit(u64),
    Debit(u64),
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("the ledger is not open")]
    NotOpen,
    #[error("the ledger is open already")]
    AlreadyOpen,
    #[error("balance {balance} is less than {amount}")]
    Insufficient { balance: u64, amount: u64 },
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub open: bool,
    pub balance: u64,
    pub movements: u64,
}

pub struct LedgerDecider;

impl Decider for LedgerDecider {
    type State = Ledger;
    type Command = LedgerCommand;
    type Event = LedgerEvent;
    type Error = LedgerError;

    fn initial_state(&self) -> Ledger {
        Ledger::default()
    }

    fn decide(
        &self,
        command: &LedgerCommand,
        state: &Ledger,
    ) -> Result<Vec<LedgerEvent>, LedgerError> {
        match command {
            LedgerCommand::Open(owner) if !state.open => Ok(vec![LedgerEvent::Opened {
                owner: owner.clone(),
            }]),
            LedgerCommand::Open(_) => Err(LedgerError::AlreadyOpen),
            _ if !state.open => Err(LedgerError::NotOpen),
            LedgerCommand::Credit(0) | LedgerCommand::Debit(0) => Ok(vec![]),
            LedgerCommand::Credit(amount) => Ok(vec![LedgerEvent::Credited { amount: *amount }]),
            LedgerCommand::Debit(amount) if *amount > state.balance => {
                Err(LedgerError::Insufficient {
                    balance: state.balance,
                    amount: *amount,
                })
            }
            LedgerCommand::Debit(amount) => Ok(vec![LedgerEvent::Debited { amount: *amount }]),
            LedgerCommand::Close => Ok(vec![LedgerEvent::Closed]),
        }
    }

    fn evolve(&self, mut state: Ledger, event: &LedgerEvent) -> Ledger {
        match event {
            LedgerEvent::Opened { .. } => state.open = true,
            LedgerEvent::Credited { amount } => {
                state.balance += amount;
                state.movements += 1;
            }
            LedgerEvent::Debited { amount } => {
                state.balance = state.balance.saturating_sub(*amount);
                state.movements += 1;
            }
            LedgerEvent::Closed => state.open = false,
        }
        state
    }

    fn reverse(&self, event: &LedgerEvent) -> Option<LedgerEvent> {
        match event {
            LedgerEvent::Credited { amount } => Some(LedgerEvent::Debited { amount: *amount }),
            LedgerEvent::Debited { amount } => Some(LedgerEvent::Credited { amount: *amount }),
            _ => None,
        }
    }
}

pub fn stream(name: &str) -> eventfold::StreamName {
    eventfold::StreamName::new(&format!("ledger-{name}-{}", uuid::Uuid::new_v4().simple())).unwrap()
}
