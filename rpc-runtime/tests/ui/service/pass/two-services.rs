//! Two services in one module, with a method name in common and methods named like runtime
//! items that the generated clients do not define.

use rpc_runtime::{Server, service};

#[service]
pub trait Users {
    async fn get(&self, request: ()) -> Result<(), ()>;
    async fn connect(&self, request: ()) -> Result<(), ()>;
    async fn schema(&self, request: ()) -> Result<(), ()>;
}

#[service]
pub trait Groups {
    async fn get(&self, request: ()) -> Result<(), ()>;
    async fn from_arc(&self, request: ()) -> Result<(), ()>;
    async fn start(&self, request: ()) -> Result<(), ()>;
}

struct Directory;

impl Users for Directory {
    async fn get(&self, (): ()) -> Result<(), ()> {
        Ok(())
    }

    async fn connect(&self, (): ()) -> Result<(), ()> {
        Ok(())
    }

    async fn schema(&self, (): ()) -> Result<(), ()> {
        Ok(())
    }
}

impl Groups for Directory {
    async fn get(&self, (): ()) -> Result<(), ()> {
        Err(())
    }

    async fn from_arc(&self, (): ()) -> Result<(), ()> {
        Ok(())
    }

    async fn start(&self, (): ()) -> Result<(), ()> {
        Ok(())
    }
}

fn main() {
    assert_ne!(
        UsersClient::SCHEMA.methods[0].id,
        GroupsClient::SCHEMA.methods[0].id
    );
    let _ = Server::builder()
        .serve(ServeUsers::new(Directory))
        .serve(ServeGroups::new(Directory));
}
