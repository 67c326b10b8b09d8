//! The account: seed 001's domain as a decider.

use serde::{Deserialize, Serialize};

use eventfold::{Decider, DomainEvent};

/// The largest amount one credit or withdrawal may move.
pub const AMOUNT_MAX: u64 = 1_000_000_000_000;

/// The largest balance an account may hold (what the read model's SQLite integers hold).
pub const BALANCE_MAX: u64 = i64::MAX as u64;

/// What happens to an account; other services consume these as domain events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountEvent {
    /// The account was opened, with a zero balance.
    AccountCreated,
    /// Money came in.
    BalanceCredited { amount: u64 },
    /// Money went out.
    BalanceWithdrawn { amount: u64 },
}

impl DomainEvent for AccountEvent {}

/// What a caller asks of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountCommand {
    /// Open it.
    Create,
    /// Add `amount`.
    Credit { amount: u64 },
    /// Take `amount` out, if the balance covers it.
    Withdraw { amount: u64 },
}

/// Why a command is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The account does not exist.
    #[error("no such account")]
    NotFound,
    /// The account exists already.
    #[error("the account exists already")]
    AlreadyExists,
    /// The withdrawal is more than the balance.
    #[error("the balance ({balance}) does not cover {amount}")]
    InsufficientBalance { balance: u64, amount: u64 },
    /// The amount is zero or too large.
    #[error("the amount must be from 1 to {AMOUNT_MAX}")]
    InvalidAmount,
    /// The balance would overflow.
    #[error("the balance would exceed its limit")]
    BalanceOverflow,
}

/// An account's state, folded from its events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// True once created.
    pub exists: bool,
    /// The balance.
    pub balance: u64,
}

/// The account decider.
pub struct Accounts;

impl Decider for Accounts {
    type State = Account;
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;

    fn initial_state(&self) -> Account {
        Account::default()
    }

    fn decide(
        &self,
        command: &AccountCommand,
        account: &Account,
    ) -> Result<Vec<AccountEvent>, AccountError> {
        let valid = |amount: u64| {
            if (1..=AMOUNT_MAX).contains(&amount) {
                Ok(amount)
            } else {
                Err(AccountError::InvalidAmount)
            }
        };
        match command {
            AccountCommand::Create if account.exists => Err(AccountError::AlreadyExists),
            AccountCommand::Create => Ok(vec![AccountEvent::AccountCreated]),
            _ if !account.exists => Err(AccountError::NotFound),
            AccountCommand::Credit { amount } => {
                let amount = valid(*amount)?;
                let balance = account
                    .balance
                    .checked_add(amount)
                    .ok_or(AccountError::BalanceOverflow)?;
                if balance > BALANCE_MAX {
                    return Err(AccountError::BalanceOverflow);
                }
                Ok(vec![AccountEvent::BalanceCredited { amount }])
            }
            AccountCommand::Withdraw { amount } => {
                let amount = valid(*amount)?;
                if amount > account.balance {
                    return Err(AccountError::InsufficientBalance {
                        balance: account.balance,
                        amount,
                    });
                }
                Ok(vec![AccountEvent::BalanceWithdrawn { amount }])
            }
        }
    }

    fn evolve(&self, mut account: Account, event: &AccountEvent) -> Account {
        match event {
            AccountEvent::AccountCreated => account.exists = true,
            AccountEvent::BalanceCredited { amount } => {
                account.balance = account.balance.saturating_add(*amount)
            }
            AccountEvent::BalanceWithdrawn { amount } => {
                account.balance = account.balance.saturating_sub(*amount)
            }
        }
        account
    }

    fn reverse(&self, event: &AccountEvent) -> Option<AccountEvent> {
        match event {
            AccountEvent::AccountCreated => None,
            AccountEvent::BalanceCredited { amount } => {
                Some(AccountEvent::BalanceWithdrawn { amount: *amount })
            }
            AccountEvent::BalanceWithdrawn { amount } => {
                Some(AccountEvent::BalanceCredited { amount: *amount })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use eventfold::testkit::DeciderTest;

    use super::*;

    #[test]
    fn a_withdrawal_beyond_the_balance_is_refused() {
        DeciderTest::new(Accounts)
            .given([
                AccountEvent::AccountCreated,
                AccountEvent::BalanceCredited { amount: 60 },
            ])
            .when(AccountCommand::Withdraw { amount: 61 })
            .then_error(AccountError::InsufficientBalance {
                balance: 60,
                amount: 61,
            });
    }

    #[test]
    fn the_seed_example_folds_to_50() {
        let account = DeciderTest::new(Accounts)
            .given([
                AccountEvent::AccountCreated,
                AccountEvent::BalanceCredited { amount: 60 },
                AccountEvent::BalanceWithdrawn { amount: 10 },
                AccountEvent::BalanceWithdrawn { amount: 10 },
            ])
            .when(AccountCommand::Credit { amount: 10 })
            .then([AccountEvent::BalanceCredited { amount: 10 }]);
        assert_eq!(account.balance, 50);
    }

    #[test]
    fn commands_on_a_missing_account_and_bad_amounts_are_refused() {
        DeciderTest::new(Accounts)
            .given([])
            .when(AccountCommand::Credit { amount: 5 })
            .then_error(AccountError::NotFound);
        DeciderTest::new(Accounts)
            .given([AccountEvent::AccountCreated])
            .when(AccountCommand::Credit { amount: 0 })
            .then_error(AccountError::InvalidAmount);
        DeciderTest::new(Accounts)
            .given([AccountEvent::AccountCreated])
            .when(AccountCommand::Create)
            .then_error(AccountError::AlreadyExists);
        DeciderTest::new(Accounts)
            .given([
                AccountEvent::AccountCreated,
                AccountEvent::BalanceCredited { amount: AMOUNT_MAX },
            ])
            .when(AccountCommand::Credit { amount: AMOUNT_MAX })
            .then([AccountEvent::BalanceCredited { amount: AMOUNT_MAX }]);
    }
}
