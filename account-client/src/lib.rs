//! The account system's typed client and protocol.
//!
//! `api` holds the messages and the [`api::Accounts`] service trait; the generated
//! [`api::AccountsClient`] and [`api::AccountsBlockingClient`] call a running `account-server`.

pub mod api;
