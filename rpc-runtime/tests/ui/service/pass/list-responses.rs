//! Lists of records as responses and requests.

use rpc_runtime::message::Shape;
use rpc_runtime::{FixedStr, Wire, service};

#[derive(Wire, Debug, PartialEq)]
pub struct Query {
    owner: u32,
}

#[derive(Wire, Debug, PartialEq)]
pub struct Account {
    id: u64,
    name: FixedStr<16>,
}

#[derive(Wire, Debug, PartialEq)]
#[repr(u8)]
pub enum StoreError {
    Unavailable = 1,
}

#[service]
pub trait Accounts {
    async fn list(&self, query: Query) -> Result<Vec<Account>, StoreError>;
    async fn create(&self, accounts: Vec<Account>) -> Result<Vec<Query>, StoreError>;
}

struct Memory;

impl Accounts for Memory {
    async fn list(&self, _query: Query) -> Result<Vec<Account>, StoreError> {
        Ok(Vec::new())
    }

    async fn create(&self, accounts: Vec<Account>) -> Result<Vec<Query>, StoreError> {
        Ok(accounts.iter().map(|_| Query { owner: 0 }).collect())
    }
}

fn main() {
    let list = &AccountsClient::SCHEMA.methods[0];
    assert!(matches!(
        list.request,
        Shape::Record {
            format: "!I",
            size: 4,
            ..
        }
    ));
    assert!(matches!(
        list.response,
        Shape::List {
            format: "!Q16s",
            size: 24,
            ..
        }
    ));
    assert!(matches!(
        list.error,
        Shape::Record {
            format: "!B",
            size: 1,
            ..
        }
    ));
    let _ = ServeAccounts::new(Memory);
}
