//! Methods named with keywords: the schema and the method ids use the names without `r#`.

use rpc_runtime::schema::method_id;
use rpc_runtime::service;

#[service]
pub trait Lexer {
    async fn r#type(&self, request: ()) -> Result<(), ()>;
    async fn r#match(&self, request: ()) -> Result<(), ()>;
}

struct Tokens;

impl Lexer for Tokens {
    async fn r#type(&self, (): ()) -> Result<(), ()> {
        Ok(())
    }

    async fn r#match(&self, (): ()) -> Result<(), ()> {
        Err(())
    }
}

#[allow(dead_code)]
async fn call(client: &LexerClient) {
    let _ = client.r#type(()).await;
    let _ = client.r#match(()).await;
}

fn main() {
    let methods = LexerClient::SCHEMA.methods;
    assert_eq!(methods[0].name, "type");
    assert_eq!(methods[0].id, method_id("Lexer", "type"));
    assert_eq!(methods[1].name, "match");
    assert_eq!(methods[1].id, method_id("Lexer", "match"));
    let _ = ServeLexer::new(Tokens);
}
