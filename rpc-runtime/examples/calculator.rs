//! A calculator service, its server and its client, in one file.
//!
//! Start the server (it listens on TCP and on a Unix socket), then run the client against
//! either endpoint:
//!
//! ```sh
//! cargo run --example calculator -- server tcp://127.0.0.1:7979 unix://./calc.sock
//! cargo run --example calculator -- client tcp://127.0.0.1:7979 add 2 40
//! cargo run --example calculator -- client unix://./calc.sock div 7 0
//! cargo run --example calculator -- client unix://./calc.sock describe
//! ```
//!
//! Stop the server with Ctrl-C; it removes its socket file on the way out.

use rpc_runtime::{BlockingClient, Endpoint, Server, Wire, service};
use std::process::ExitCode;

/// Two operands.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
pub struct Operands {
    /// Left operand.
    pub a: i64,
    /// Right operand.
    pub b: i64,
}

/// A result.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
pub struct Value {
    /// The value.
    pub value: i64,
}

/// What can go wrong.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
pub enum MathError {
    /// The result does not fit in an i64.
    Overflow = 1,
    /// Division by zero.
    DivisionByZero = 2,
}

/// Integer arithmetic over RPC.
#[service]
pub trait Calc {
    /// a + b
    async fn add(&self, operands: Operands) -> Result<Value, MathError>;
    /// a / b
    async fn div(&self, operands: Operands) -> Result<Value, MathError>;
}

struct Calculator;

impl Calc for Calculator {
    async fn add(&self, o: Operands) -> Result<Value, MathError> {
        o.a.checked_add(o.b)
            .map(|value| Value { value })
            .ok_or(MathError::Overflow)
    }

    async fn div(&self, o: Operands) -> Result<Value, MathError> {
        if o.b == 0 {
            return Err(MathError::DivisionByZero);
        }
        o.a.checked_div(o.b)
            .map(|value| Value { value })
            .ok_or(MathError::Overflow)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("server") => server(&args[1..]),
        Some("client") => client(&args[1..]),
        _ => Err("usage: calculator server ENDPOINT... | calculator client ENDPOINT (add|div) A B | describe".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", rpc_runtime::error::Chain(&*e));
            ExitCode::FAILURE
        }
    }
}

fn server(endpoints: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Server::builder().serve(ServeCalc::new(Calculator));
    for e in endpoints {
        builder = builder.listen(e.parse()?);
    }
    let server = builder.bind()?;
    for e in server.endpoints() {
        println!("listening on {e}");
    }
    // Ctrl-C shuts down gracefully where signals exist; elsewhere it just ends the process.
    #[cfg(unix)]
    rpc_runtime::server::shutdown_on_signals(&server.shutdown_handle())?;
    server.run()?;
    Ok(())
}

fn client(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [endpoint, rest @ ..] = args else {
        return Err("client needs an endpoint".into());
    };
    let endpoint: Endpoint = endpoint.parse()?;
    let raw = BlockingClient::new(endpoint);
    if let [cmd] = rest
        && cmd == "describe"
    {
        println!("{}", raw.describe()?);
        return Ok(());
    }
    let [op, a, b] = rest else {
        return Err("client needs: (add|div) A B".into());
    };
    let calc = CalcBlockingClient::new(raw);
    let operands = Operands {
        a: a.parse()?,
        b: b.parse()?,
    };
    let result = match op.as_str() {
        "add" => calc.add(operands),
        "div" => calc.div(operands),
        other => return Err(format!("unknown operation {other:?}").into()),
    };
    match result {
        Ok(v) => println!("{}", v.value),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
