//! The `rpc` tool against the calculator service of `rpc-runtime/examples/calculator.rs`,
//! served in-process: the describe table, calls (ok, application error, hex dumps), and the
//! errors a user acts on. The describe document must round-trip through the tool's parser, so
//! the type trees the server writes by hand are the ones serde reads.

use crate::protocol::{Calculator, ServeCalc};
use rpc_runtime::Server;
use rpc_runtime::server::RunningServer;
use rpc_tool::call::call;
use rpc_tool::conn::Connection;
use rpc_tool::schema::Schema;
use rpc_tool::table;
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn calc() -> Result<(RunningServer, Connection), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .listen("tcp://127.0.0.1:0".parse()?)
        .serve(ServeCalc::new(Calculator))
        .bind()?
        .spawn()?;
    let conn = Connection::connect(&server.endpoints()[0], Duration::from_secs(30))?;
    Ok((server, conn))
}

#[test]
fn rpc_describe_table() -> TestResult {
    let (_server, mut conn) = calc()?;
    let (schema, _) = Schema::fetch(&mut conn)?;
    insta::assert_snapshot!(table::render(&schema));
    Ok(())
}

#[test]
fn rpc_call_replies() -> TestResult {
    let (_server, mut conn) = calc()?;
    let (schema, _) = Schema::fetch(&mut conn)?;
    let mut out = String::new();
    for (method, request) in [
        ("Calc.add", r#"{"a": "2", "b": 40}"#),
        ("div", r#"{"a": 7, "b": "0"}"#),
        ("Calc.add", r#"{"a": "9223372036854775807", "b": 1}"#),
    ] {
        let outcome = call(&mut conn, &schema, method, request.as_bytes(), false)?;
        out.push_str(&format!(
            "{method} {request}\n  exit {}  {}\n",
            outcome.exit_code(),
            outcome.reply
        ));
    }
    insta::assert_snapshot!(out);
    Ok(())
}

#[test]
fn rpc_call_hex() -> TestResult {
    let (_server, mut conn) = calc()?;
    let (schema, _) = Schema::fetch(&mut conn)?;
    let outcome = call(
        &mut conn,
        &schema,
        "Calc.div",
        br#"{"a": "84", "b": 2}"#,
        true,
    )?;
    // The deadline is the connection's 30 s timeout: 0x7530 ms.
    insta::assert_snapshot!(outcome.hex);
    Ok(())
}

#[test]
fn rpc_call_errors_say_what_to_do() -> TestResult {
    let (_server, mut conn) = calc()?;
    let (schema, _) = Schema::fetch(&mut conn)?;
    let mut out = String::new();
    for (method, request) in [
        ("Calc.ad", "{}"),
        ("Calc.sub", "{}"),
        ("Math.add", "{}"),
        ("Calc.add", r#"{"a": 2.5, "b": 1}"#),
        ("Calc.add", r#"{"a": 1}"#),
        ("Calc.add", r#"{"a": 1, "b": 2, "c": 3}"#),
        ("Calc.add", r#"{"a": 1, "#),
    ] {
        let err = call(&mut conn, &schema, method, request.as_bytes(), false).unwrap_err();
        out.push_str(&format!(
            "{method} {request}\n  exit {}  {err}\n",
            rpc_tool::call::error_exit_code(&err)
        ));
    }
    let refused = Connection::connect(
        &"unix:///nonexistent/rpc.sock".parse()?,
        Duration::from_secs(5),
    )
    .unwrap_err();
    out.push_str(&format!(
        "unreachable\n  exit {}  {refused}\n",
        rpc_tool::call::error_exit_code(&refused)
    ));
    insta::assert_snapshot!(out);
    Ok(())
}
